import cliProgress from "cli-progress";

/** A progress bar with ETA on stderr, shown only on a terminal and only once work has taken a second. */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const SHOW_AFTER_MS = 1000;

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const started = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  let barTotal = 0;
  return {
    update(done, total) {
      if (!bar) {
        if (Date.now() - started < SHOW_AFTER_MS) return;
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: "checking {bar} {percentage}% | {value}/{total} coordinates | ETA {eta_formatted}",
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
        barTotal = total;
      }
      // A cluster check may learn its total only once it is planned, after the bar appeared.
      if (total !== barTotal) {
        bar.setTotal(total);
        barTotal = total;
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
