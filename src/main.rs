fn main() -> std::process::ExitCode {
    papertide::cli::main()
}
