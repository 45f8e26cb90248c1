job "${var.name}" {
}
