//! The machine and tool versions printed above the tables, so figures can be compared.

use std::process::Command;

/// Markdown lines: cores, memory, CPU model, kernel, and each tool's version.
pub fn describe(ecr_fanout: &std::path::Path) -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_gib = read_field("/proc/meminfo", "MemTotal:")
        .and_then(|value| value.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let cpu = read_field("/proc/cpuinfo", "model name").map_or("unknown".to_owned(), |model| {
        model.trim_start_matches(':').trim().to_owned()
    });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or("unknown".to_owned(), |release| release.trim().to_owned());
    let tools = [
        version(&ecr_fanout.display().to_string(), &["--version"]),
        version("docker-registry", &["--version"]),
        version("skopeo", &["--version"]),
        version("/usr/sbin/dockerd", &["--version"]),
        version("/usr/bin/time", &["--version"]),
    ];
    format!(
        "machine: {cores} cores (nproc), {memory_gib} memory, CPU {cpu}, Linux {kernel}\n\
         tools: {}\n",
        tools.join("; ")
    )
}

fn read_field(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(|value| value.trim().to_owned())
}

fn version(program: &str, args: &[&str]) -> String {
    let name = program.rsplit('/').next().unwrap_or(program);
    match Command::new(program).args(args).output() {
        Ok(output) => {
            let text = if output.stdout.is_empty() {
                output.stderr
            } else {
                output.stdout
            };
            let line = String::from_utf8_lossy(&text);
            format!("{name}: {}", line.lines().next().unwrap_or("").trim())
        }
        Err(_) => format!("{name}: not installed"),
    }
}
