import { describe, expect, it } from "vitest";
import {
  parseFlinkDuration,
  parseFlinkMemory,
  parseMemory,
  parseQuantity,
} from "../../lib/api/units";

describe("size and duration parsers", () => {
  it("parses Kubernetes quantities", () => {
    expect(parseQuantity("2Gi")).toBe(2 * 2 ** 30);
    expect(parseQuantity("500m")).toBe(0.5);
    expect(parseQuantity("1.5")).toBe(1.5);
    expect(parseQuantity("2G")).toBe(2e9);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(parseQuantity(3)).toBe(3);
    for (const bad of ["2 Gi", "Gi", "2gi", "", " 1", "1.2.3"])
      expect(parseQuantity(bad)).toBeUndefined();
  });

  it("parses Flink memory sizes", () => {
    expect(parseFlinkMemory("2048m")).toBe(2 ** 31);
    expect(parseFlinkMemory("1 g")).toBe(2 ** 30);
    expect(parseFlinkMemory("64 mebibytes")).toBe(64 * 2 ** 20);
    expect(parseFlinkMemory("1024")).toBe(1024);
    expect(parseFlinkMemory("2Gi")).toBeUndefined();
    expect(parseFlinkMemory("1.5g")).toBeUndefined();
  });

  it("reads resource memory the Flink way first, then as a Kubernetes quantity", () => {
    expect(parseMemory("2048m")).toBe(2 ** 31);
    expect(parseMemory("2Gi")).toBe(2 ** 31);
    expect(parseMemory("2G")).toBe(2 ** 31);
    expect(parseMemory("two")).toBeUndefined();
  });

  it("parses Flink durations", () => {
    expect(parseFlinkDuration("10 s")).toBe(10_000);
    expect(parseFlinkDuration("1min")).toBe(60_000);
    expect(parseFlinkDuration("500ms")).toBe(500);
    expect(parseFlinkDuration("2 h")).toBe(7_200_000);
    expect(parseFlinkDuration("250")).toBe(250);
    expect(parseFlinkDuration("soon")).toBeUndefined();
  });
});
