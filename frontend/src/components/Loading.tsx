import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";

/** What shows while a page's code is fetched (pages are loaded when first shown). */
export function Loading() {
  return (
    <Box sx={{ display: "flex", justifyContent: "center", py: 4 }}>
      <CircularProgress aria-label="Loading the page" />
    </Box>
  );
}
