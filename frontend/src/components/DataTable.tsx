import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography, { type TypographyProps } from "@mui/material/Typography";
import type { ReactNode } from "react";

/** A column heading; a right-aligned one for numbers and actions. */
export type Column = string | { label: string; align: "right" };

export interface DataTableProps {
  columns: readonly Column[];
  /** The table's data-testid. */
  testId: string;
  /** The rows (an `EmptyRow` when there is nothing to list). */
  children: ReactNode;
}

/** A small table of rows under a header of `columns`. */
export function DataTable({ columns, testId, children }: DataTableProps) {
  return (
    <TableContainer>
      <Table size="small" data-testid={testId}>
        <HeaderRow columns={columns} />
        <TableBody>{children}</TableBody>
      </Table>
    </TableContainer>
  );
}

/** A table's header: one cell per column. */
function HeaderRow({ columns }: { columns: readonly Column[] }) {
  return (
    <TableHead>
      <TableRow>
        {columns.map((column) =>
          typeof column === "string" ? (
            <TableCell key={column}>{column}</TableCell>
          ) : (
            <TableCell key={column.label} align={column.align}>
              {column.label}
            </TableCell>
          ),
        )}
      </TableRow>
    </TableHead>
  );
}

export interface EmptyRowProps extends Pick<TypographyProps, "variant" | "sx"> {
  /** How many columns the table has. */
  colSpan: number;
  children: ReactNode;
}

/** The one row of a table with nothing to list, saying why. */
export function EmptyRow({ colSpan, children, variant, sx }: EmptyRowProps) {
  return (
    <TableRow>
      <TableCell colSpan={colSpan}>
        <Typography variant={variant} color="text.secondary" sx={sx}>
          {children}
        </Typography>
      </TableCell>
    </TableRow>
  );
}
