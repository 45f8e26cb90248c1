import { Page } from "../common";
import type { Params } from "../router";

// Placeholder: this page is being written.
export function JobPage({ params }: { params: Params }) {
  void params;
  return <Page title={params.j} />;
}
