job 1 {
}
