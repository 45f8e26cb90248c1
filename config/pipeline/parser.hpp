#pragma once
// Lexer + recursive-descent parser for HCL2 native syntax (hclsyntax's grammar).

#include <string>
#include <string_view>

#include "config/pipeline/ast.hpp"

namespace pikoci::hcl {

/// Hard limits that keep hostile input from exhausting the stack or memory.
struct parse_limits {
  std::size_t max_bytes = 16 * 1024 * 1024;
  int max_depth = 256;  // nesting of blocks, brackets, templates and operators
};

/// Parses a whole configuration file. Always returns a file (possibly partial); syntax errors go
/// to `diags` with positions. The source must be valid UTF-8 (invalid bytes are reported).
file parse_file(std::string name, std::string source, diagnostics& diags,
                const parse_limits& limits = {});

/// Parses a standalone expression (used by tests and `if` conditions of the language).
expr_ptr parse_expression(std::string_view source, diagnostics& diags,
                          const parse_limits& limits = {});

/// Parses a standalone template (the contents of a quoted string without the quotes).
expr_ptr parse_template(std::string_view source, diagnostics& diags,
                        const parse_limits& limits = {});

}  // namespace pikoci::hcl
