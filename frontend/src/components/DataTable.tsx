import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography, { type TypographyProps } from "@mui/material/Typography";
import type { Theme } from "@mui/material/styles";
import type { SystemStyleObject } from "@mui/system";
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

/**
 * On phones a table becomes a stack of cards: one per row, each cell on its own line after its
 * column's name (`labels`, in order; "" for none). Wider screens keep the table.
 */
export function cardsOnPhones(labels: readonly string[]): (theme: Theme) => SystemStyleObject<Theme> {
  const named = Object.fromEntries(
    labels.flatMap((label, i) => (label ? [[`& td:nth-of-type(${i + 1})::before`, { content: JSON.stringify(`${label}: `) }]] : [])),
  );
  return (theme) => ({
    [theme.breakpoints.down("sm")]: {
      "& thead": { display: "none" },
      "&, & tbody, & tr, & td": { display: "block", width: "100%" },
      "& tr": { border: "1px solid #e0e4ea", borderRadius: 2, mb: 1, py: 0.5 },
      "& td": { border: "none", py: 0.5, px: 1.5, textAlign: "left", maxWidth: "none", whiteSpace: "normal", overflowWrap: "anywhere" },
      "& td::before": { fontWeight: 600, color: "text.secondary" },
      ...named,
    },
  });
}

const label = (column: Column) => (typeof column === "string" ? column : column.label);

/** A small table of rows under a header of `columns` (cards on phones). */
export function DataTable({ columns, testId, children }: DataTableProps) {
  return (
    <TableContainer>
      <Table size="small" data-testid={testId} sx={cardsOnPhones(columns.map(label))}>
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
