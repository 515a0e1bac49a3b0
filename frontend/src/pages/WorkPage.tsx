import Box from "@mui/material/Box";
import Card from "@mui/material/Card";
import CardActionArea from "@mui/material/CardActionArea";
import CardContent from "@mui/material/CardContent";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type PointerEvent as ReactPointerEvent } from "react";
import { askForStepUp } from "../api/client";
import { TrustPanel } from "../components/TrustPanel";
import { TrustStrip } from "../components/TrustStrip";
import { useTrust } from "../realtime/TrustContext";
import { PaymentCard } from "./work/PaymentCard";

export const ENROLLMENT_STEP_UP_REASON =
  "bbauth learns how you type and use the pointer only while it is sure it is you. Enter a fresh one-time code " +
  "and learning goes on by itself.";

const PROMPT =
  "The quick brown fox jumps over the lazy dog while the security team watches the dashboard. " +
  "Write a few sentences about your day, or copy this text, at your own pace.";

const TASKS = [
  { id: "t1", title: "Review the quarterly report", tag: "Finance" },
  { id: "t2", title: "Reply to the vendor email", tag: "Mail" },
  { id: "t3", title: "Update the onboarding guide", tag: "Docs" },
  { id: "t4", title: "Plan the team offsite", tag: "Team" },
  { id: "t5", title: "Check the build pipeline", tag: "Ops" },
  { id: "t6", title: "Prepare the demo slides", tag: "Sales" },
];

/** The protected person's workspace: a writing area, things to click and drag, and a payment to approve. */
export function WorkPage() {
  const trust = useTrust();
  const [text, setText] = useState("");
  const [done, setDone] = useState<Set<string>>(new Set());

  useEffect(() => {
    document.title = "Work · bbauth";
  }, []);

  const toggle = (id: string) =>
    setDone((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "minmax(0, 1fr)", md: "minmax(0, 1fr) 340px" }, alignItems: "start" }}>
      <TrustStrip snapshot={trust} />
      <Stack spacing={2} sx={{ minWidth: 0 }}>
        <Paper sx={{ p: 2 }}>
          <Typography variant="h6" component="h2" gutterBottom>
            Notes
          </Typography>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 1.5 }}>
            {PROMPT}
          </Typography>
          <TextField
            multiline
            minRows={8}
            maxRows={16}
            fullWidth
            placeholder="Start typing…"
            value={text}
            onChange={(e) => setText(e.target.value)}
            slotProps={{ htmlInput: { "data-testid": "work-text", "aria-label": "Notes", spellCheck: false } }}
          />
          <Typography variant="caption" color="text.secondary">
            {text.length} characters · {trust.capture.sent} input events sent
          </Typography>
        </Paper>

        <Paper sx={{ p: 2 }}>
          <Typography variant="h6" component="h2" gutterBottom>
            Tasks
          </Typography>
          <Box sx={{ display: "grid", gap: 1.5, gridTemplateColumns: "repeat(auto-fill, minmax(min(180px, 100%), 1fr))" }}>
            {TASKS.map((task) => (
              <Card
                key={task.id}
                variant="outlined"
                sx={{ borderColor: done.has(task.id) ? "success.main" : undefined, bgcolor: done.has(task.id) ? "#eef7ee" : undefined }}
              >
                <CardActionArea onClick={() => toggle(task.id)} data-testid={`task-${task.id}`} aria-pressed={done.has(task.id)}>
                  <CardContent>
                    <Typography variant="caption" color="text.secondary">
                      {task.tag}
                    </Typography>
                    <Typography variant="body1" sx={{ textDecoration: done.has(task.id) ? "line-through" : "none" }}>
                      {task.title}
                    </Typography>
                    <Typography variant="caption" color={done.has(task.id) ? "success.main" : "text.secondary"}>
                      {done.has(task.id) ? "Done" : "Click to complete"}
                    </Typography>
                  </CardContent>
                </CardActionArea>
              </Card>
            ))}
          </Box>
        </Paper>

        <DragBoard />

        <PaymentCard />
      </Stack>

      <Box sx={{ position: { md: "sticky" }, top: { md: 80 } }}>
        <TrustPanel
          snapshot={trust}
          captureActive={trust.capture.active}
          onVerify={() => void askForStepUp(ENROLLMENT_STEP_UP_REASON)}
        />
      </Box>
    </Box>
  );
}

type Zone = "inbox" | "archive" | "review";

/** Pixels the file moves per arrow key (10× with Shift). */
const KEY_STEP = 12;

/**
 * A file to drag into a folder, with pointer events (mouse, pen and touch alike; native
 * drag-and-drop hides the pointer's path). By keyboard: the arrow keys move the focused file,
 * Enter or Space drops it where it is.
 */
function DragBoard() {
  const boardRef = useRef<HTMLDivElement>(null);
  const zoneRefs = { archive: useRef<HTMLDivElement>(null), review: useRef<HTMLDivElement>(null) };
  const [pos, setPos] = useState({ x: 24, y: 56 });
  const [dragging, setDragging] = useState<{ dx: number; dy: number } | null>(null);
  const [zone, setZone] = useState<Zone>("inbox");
  const [moves, setMoves] = useState(0);

  /** The folder under a point of the viewport, or the inbox. */
  const zoneAt = (x: number, y: number): Zone =>
    (["archive", "review"] as const).find((name) => {
      const r = zoneRefs[name].current?.getBoundingClientRect();
      return r && x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;
    }) ?? "inbox";

  const clamp = (x: number, y: number) => {
    const board = boardRef.current?.getBoundingClientRect();
    if (!board) return { x, y };
    return { x: Math.max(0, Math.min(board.width - 120, x)), y: Math.max(0, Math.min(board.height - 40, y)) };
  };

  useEffect(() => {
    if (!dragging) return;
    const onMove = (e: PointerEvent) => {
      const board = boardRef.current?.getBoundingClientRect();
      if (!board) return;
      setPos(clamp(e.clientX - board.left - dragging.dx, e.clientY - board.top - dragging.dy));
    };
    const onUp = (e: PointerEvent) => {
      setDragging(null);
      setMoves((m) => m + 1);
      setZone(zoneAt(e.clientX, e.clientY));
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
    window.addEventListener("pointercancel", onUp);
    return () => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      window.removeEventListener("pointercancel", onUp);
    };
  }, [dragging]); // eslint-disable-line react-hooks/exhaustive-deps

  const start = (e: ReactPointerEvent) => {
    if (e.button !== 0) return;
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect();
    setDragging({ dx: e.clientX - rect.left, dy: e.clientY - rect.top });
    e.preventDefault(); // no text selection while dragging
  };

  const onKey = (e: ReactKeyboardEvent) => {
    const step = e.shiftKey ? KEY_STEP * 10 : KEY_STEP;
    const delta: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (delta[e.key]) {
      e.preventDefault();
      setPos((p) => clamp(p.x + delta[e.key][0], p.y + delta[e.key][1]));
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
      setMoves((m) => m + 1);
      setZone(zoneAt(r.left + r.width / 2, r.top + r.height / 2));
    }
  };

  const zoneBox = (name: "archive" | "review", label: string) => (
    <Box
      ref={zoneRefs[name]}
      data-testid={`zone-${name}`}
      sx={{
        position: "absolute",
        top: 16,
        bottom: 16,
        width: "26%",
        ...(name === "archive" ? { right: "30%" } : { right: 16 }),
        border: "2px dashed",
        borderColor: zone === name ? "success.main" : "#8a94a3",
        borderRadius: 2,
        display: "grid",
        placeItems: "center",
        color: "text.secondary",
        bgcolor: zone === name ? "#eef7ee" : "transparent",
      }}
    >
      {label}
    </Box>
  );

  return (
    <Paper sx={{ p: 2 }}>
      <Typography variant="h6" component="h2" gutterBottom>
        Files
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }} id="drag-help">
        Drag the file into a folder, or focus it and move it with the arrow keys, then press Enter.
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }} role="status" data-testid="drag-status">
        {zone === "inbox" ? "It is in your inbox." : `It is in ${zone}.`} ({moves} moves)
      </Typography>
      <Box ref={boardRef} data-testid="drag-board" sx={{ position: "relative", height: 170, bgcolor: "#f7f9fb", borderRadius: 2, userSelect: "none" }}>
        {zoneBox("archive", "Archive")}
        {zoneBox("review", "Review")}
        <Box
          role="button"
          tabIndex={0}
          aria-roledescription="draggable file"
          aria-describedby="drag-help"
          onPointerDown={start}
          onKeyDown={onKey}
          data-testid="drag-item"
          sx={{
            position: "absolute",
            left: pos.x,
            top: pos.y,
            width: 120,
            height: 40,
            borderRadius: 1.5,
            bgcolor: "primary.main",
            color: "#fff",
            display: "grid",
            placeItems: "center",
            cursor: dragging ? "grabbing" : "grab",
            touchAction: "none", // the finger drags the file, not the page
            boxShadow: dragging ? 6 : 1,
            fontWeight: 600,
            fontSize: 14,
            "&:focus-visible": { outline: "2px solid #fff", boxShadow: "0 0 0 4px #1f4e79" },
          }}
        >
          report.pdf
        </Box>
      </Box>
    </Paper>
  );
}
