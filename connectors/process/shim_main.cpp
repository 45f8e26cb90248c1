// pikoci-shim: the step shim and the process guard of containment.hpp as a binary of their own,
// installed next to pikoci-node. Starting the node's own (large) binary for every step would cost
// far more; the node falls back to that only when this file is missing.
#include "connectors/process/containment.hpp"

int main(int argc, char** argv) {
  int rc = pikoci::process::internal_main(argc, argv);
  return rc < 0 ? 2 : rc;
}
