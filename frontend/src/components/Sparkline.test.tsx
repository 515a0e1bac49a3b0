import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Sparkline } from "./Sparkline";

describe("Sparkline", () => {
  it("draws one point per score, newest on the right", () => {
    const { container } = render(<Sparkline values={[100, 50, 0]} width={100} height={50} />);
    const line = container.querySelector("polyline")!;
    const points = line.getAttribute("points")!.split(" ").map((p) => p.split(",").map(Number));
    expect(points).toHaveLength(3);
    expect(points[0][1]).toBeLessThan(points[1][1]); // 100 is drawn above 50
    expect(points[2][0]).toBeGreaterThan(points[1][0]);
    expect(screen.getByRole("img")).toHaveAccessibleName(/100, 50, 0/);
  });

  it("draws the challenge threshold when asked", () => {
    const { container } = render(<Sparkline values={[80]} threshold={50} />);
    expect(container.querySelector("line[stroke-dasharray='3 3']")).not.toBeNull();
  });

  it("says when there is no data yet", () => {
    render(<Sparkline values={[]} />);
    expect(screen.getByRole("img")).toHaveAccessibleName(/no data yet/);
  });
});
