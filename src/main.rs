// mimalloc: the import's tantivy and SQLite threads allocate small strings at a high rate; glibc malloc's
// arena locking and consolidation were ~12% of import CPU (see README § Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    papertide::cli::main()
}
