// client_shower.ts — which messages reach the desktop and how: catch-ups folded and grouped per channel, live bursts paced,
// urgent ones at once, an update replacing the notification on screen, a delete or clear closing it.
import type { Envelope } from "./message";
import { BurstGrouper, catchUpToasts, toastFor, toastKey, type Toast } from "./client_toast";

/** What the shower needs of the desktop (client_desktop.ts's Desktop). */
export type Screen = { show: (t: Toast) => void; close: (key: string) => void; showing: (key: string) => boolean };

/** The desktop side of the handlers: `message` for each message (replayed ones wait for `caughtUp`). */
export function desktopShower(screen: Screen, windowMs = 5000): { message: (env: Envelope, replayed: boolean) => void; caughtUp: () => void } {
  const grouper = new BurstGrouper(windowMs);
  let replayed: Envelope[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const schedule = () => {
    const at = grouper.nextFlushAt();
    if (at === null || timer) return;
    timer = setTimeout(() => {
      timer = null;
      for (const t of grouper.flush(Date.now())) screen.show(t);
      schedule();
    }, Math.max(0, at - Date.now()));
  };
  return {
    message: (env, isReplay) => {
      if (isReplay) return void replayed.push(env);
      const key = toastKey(env);
      if (env.event !== undefined) return void (key !== undefined && screen.close(key));
      // An update replaces what is on screen, so it cannot flood it: it is shown at once, outside the pacing.
      if (key !== undefined && screen.showing(key)) return screen.show(toastFor(env));
      const t = grouper.offer(env, Date.now());
      if (t) screen.show(t);
      schedule();
    },
    caughtUp: () => {
      const { toasts, closed } = catchUpToasts(replayed);
      for (const key of closed) screen.close(key);
      for (const t of toasts) screen.show(t);
      replayed = [];
    },
  };
}
