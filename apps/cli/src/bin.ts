#!/usr/bin/env node
import { main } from "./program.js";

// A reader that stops early (`gradcheck check ... | head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
