//! Compiles `proto/casehub/v1/raft.proto` with protox (no `protoc` needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../../proto";
    let file = "../../proto/casehub/v1/raft.proto";
    println!("cargo:rerun-if-changed={file}");
    let fds = protox::compile([file], [proto_root])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
