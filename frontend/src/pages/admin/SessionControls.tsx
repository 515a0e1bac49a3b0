import Chip from "@mui/material/Chip";
import MenuItem from "@mui/material/MenuItem";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import { useEffect, useState } from "react";
import type { SessionCounts, SessionQuery } from "../../contract/socket";

const SORTS = [
  { value: "trust:asc", label: "Lowest trust first" },
  { value: "trust:desc", label: "Highest trust first" },
  { value: "connected_since:desc", label: "Newest first" },
  { value: "connected_since:asc", label: "Longest connected first" },
] as const;

const COUNTED: { key: keyof SessionCounts; label: string; color?: "error" | "warning" }[] = [
  { key: "connected", label: "connected" },
  { key: "active", label: "active" },
  { key: "challenged", label: "challenged", color: "error" },
  { key: "flagged", label: "not live", color: "warning" },
  { key: "unmonitored", label: "unmonitored", color: "warning" },
];

/** Live sessions by state on every worker: the dashboard's headline numbers. */
export function SessionCountChips({ counts }: { counts: SessionCounts | null }) {
  if (!counts) return null;
  return (
    <Stack direction="row" spacing={1} flexWrap="wrap" data-testid="session-counts">
      {COUNTED.map(({ key, label, color }) => (
        <Chip
          key={key}
          size="small"
          variant={counts[key] && color ? "filled" : "outlined"}
          color={counts[key] ? color : undefined}
          label={`${counts[key]} ${label}`}
          data-testid={`count-${key}`}
        />
      ))}
    </Stack>
  );
}

/** The sort and filters of the watched page; any change goes back to its first page. */
export function SessionFilters({ query, onChange }: { query: SessionQuery; onChange: (query: SessionQuery) => void }) {
  const [user, setUser] = useState(query.user ?? "");
  useEffect(() => setUser(query.user ?? ""), [query.user]);
  const set = (patch: Partial<SessionQuery>) => onChange({ ...query, ...patch, page: 0 });
  const sort = `${query.sort}:${query.descending ? "desc" : "asc"}`;
  return (
    <Stack direction={{ xs: "column", md: "row" }} spacing={1.5} sx={{ mb: 1.5 }}>
      <TextField
        select
        size="small"
        label="Sort"
        value={sort}
        onChange={(e) => {
          const [key, direction] = e.target.value.split(":");
          set({ sort: key as SessionQuery["sort"], descending: direction === "desc" });
        }}
        sx={{ minWidth: 200 }}
        inputProps={{ "data-testid": "filter-sort" }}
      >
        {SORTS.map((s) => (
          <MenuItem key={s.value} value={s.value}>
            {s.label}
          </MenuItem>
        ))}
      </TextField>
      <TextField
        select
        size="small"
        label="State"
        value={query.state ?? ""}
        onChange={(e) => set({ state: (e.target.value || null) as SessionQuery["state"] })}
        sx={{ minWidth: 140 }}
        inputProps={{ "data-testid": "filter-state" }}
      >
        <MenuItem value="">any</MenuItem>
        <MenuItem value="active">active</MenuItem>
        <MenuItem value="challenged">challenged</MenuItem>
      </TextField>
      <TextField
        select
        size="small"
        label="Liveness"
        value={query.liveness ?? ""}
        onChange={(e) => set({ liveness: (e.target.value || null) as SessionQuery["liveness"] })}
        sx={{ minWidth: 150 }}
        inputProps={{ "data-testid": "filter-liveness" }}
      >
        <MenuItem value="">any</MenuItem>
        <MenuItem value="flagged">not live (any)</MenuItem>
        <MenuItem value="replay">replayed</MenuItem>
        <MenuItem value="machine">machine-made</MenuItem>
      </TextField>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          set({ user: user.trim() || null });
        }}
      >
        <TextField
          size="small"
          label="User (email or id)"
          value={user}
          onChange={(e) => setUser(e.target.value)}
          onBlur={() => (user.trim() || null) !== (query.user ?? null) && set({ user: user.trim() || null })}
          inputProps={{ "data-testid": "filter-user", maxLength: 320 }}
        />
      </form>
    </Stack>
  );
}
