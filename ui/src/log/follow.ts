// Follows a build's event stream (GET .../builds/{n}/events) with fetch, so the page knows
// where the replay of what happened before it opened ends (the `: stream open` comment).
// A stream cut before the build's `end` is opened again after a pause; the node replays the
// build from the start, so `onReset` lets the page start over.
import { SseParser } from "./sse";

export interface FollowHandlers {
  /** An event; `live` is false while the node replays what happened before this connection. */
  event(type: string, data: any, live: boolean): void;
  /** A new connection is about to replay the build from the start. */
  reset(): void;
  /** The stream cannot be opened (unknown build, signed out...). */
  failed(status: number, message: string): void;
}

export function followBuild(url: string, on: FollowHandlers): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  let retry = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const connect = async () => {
    controller = new AbortController();
    let ended = false;
    try {
      const res = await fetch(url, {
        headers: { Accept: "text/event-stream" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!res.ok || !res.body) {
        let message = res.statusText;
        try {
          message = (await res.json())?.error?.message ?? message;
        } catch {
          /* no JSON: keep the status text */
        }
        on.failed(res.status, message);
        return;
      }
      on.reset();
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let live = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const item of parser.feed(value)) {
          if ("comment" in item) {
            if (item.comment === "stream open") live = true;
            continue;
          }
          let data: any;
          try {
            data = JSON.parse(item.data);
          } catch {
            continue; // a malformed event is skipped
          }
          if (item.type === "end") ended = true;
          on.event(item.type, data, live);
        }
        retry = 1000;
      }
    } catch {
      /* network error or stopped: handled below */
    }
    if (!stopped && !ended) {
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    }
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
}
