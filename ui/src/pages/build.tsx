import { Page } from "../common";
import type { Params } from "../router";

// Placeholder: this page is being written.
export function BuildPage({ params }: { params: Params }) {
  void params;
  return <Page title={`Build ${params.n}`} />;
}
