import { Page } from "../common";
import type { Params } from "../router";

// Placeholder: this page is being written.
export function QueuePage({ params }: { params: Params }) {
  void params;
  return <Page title="Queue" />;
}
