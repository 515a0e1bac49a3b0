import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";

export interface CardTitleProps {
  title: string;
  /** Loads the card's content again (its Refresh button). */
  onRefresh: () => Promise<void>;
  /** The heading's element: a card of the page is an h2. */
  component?: "h2" | "h6";
}

/** A card's title row: its heading, and a Refresh button at the right. */
export function CardTitle({ title, onRefresh, component = "h2" }: CardTitleProps) {
  return (
    <Stack direction="row" alignItems="center" sx={{ mb: 1 }}>
      <Typography variant="h6" component={component}>
        {title}
      </Typography>
      <Box sx={{ flexGrow: 1 }} />
      <Button size="small" onClick={() => void onRefresh()}>
        Refresh
      </Button>
    </Stack>
  );
}
