import type { Report } from "@gradcheck/contracts";
import { writeFileAtomic } from "../files.js";
import { renderHtmlReport, type CoordinateErrors } from "./html-report.js";

/** Renders the report as one self-contained HTML page and writes it atomically (temp file + rename). */
export async function writeHtmlReport(path: string, report: Report, coordinateErrors: CoordinateErrors[]): Promise<void> {
  await writeFileAtomic(path, renderHtmlReport(report, coordinateErrors));
}
