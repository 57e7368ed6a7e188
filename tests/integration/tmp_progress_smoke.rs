use crate::harness::{TestEnv, ecr_fanout, run};

#[tokio::test]
async fn tmp_progress_smoke() {
    let env = TestEnv::start(&["us-east-1", "eu-west-1"]).await;
    let dir = env.path("big");
    ecr_fanout::image::fixtures::write_single_manifest_layout(&dir, "big", &[120_000_000, 30_000_000]).unwrap();
    let inner = ecr_fanout(&env);
    let mut args = vec![inner.get_program().to_string_lossy().to_string()];
    args.extend(["push", "--image", &format!("oci:{}", dir.display()), "--regions", "us-east-1,eu-west-1", "--repository", "web", "--tags", "v1", "--create-repository", "--registry-endpoints", &env.registry_endpoints_arg()].iter().map(|s| s.to_string()));
    let line = args.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{line} 2>/tmp/progress-stderr.txt >/tmp/progress-stdout.txt; {line} -v"), "/tmp/progress-typescript.txt"]);
    for (k, v) in inner.get_envs() { match v { Some(v) => { cmd.env(k, v); } None => { cmd.env_remove(k); } } }
    cmd.current_dir(env.work_dir());
    let out = run(cmd).await;
    eprintln!("{out}");
}
