#pragma once
// The web UI's files, built into the binary: ui/embed.mjs turns the UI build (ui/build.mjs) into
// the table `ui_assets()` at build time (CMake's `pikoci_ui` library), so the node serves its UI
// with no files beside it and no internet.

#include <string_view>
#include <vector>

namespace pikoci::http {

/// One file of the UI build.
struct ui_asset {
  std::string_view path;          // "/index.html", "/assets/app-1a2b3c4d5e6f.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong, quoted: from the SHA-256 of `bytes`
  bool immutable = false;         // a content-hashed name: its bytes never change
  std::string_view bytes;
  std::string_view gzip;  // the same gzip-compressed; empty when that does not pay
};

/// Every file of the UI build, by path.
const std::vector<ui_asset>& ui_assets();

}  // namespace pikoci::http
