pub mod proto {
    pub mod users { pub mod v1 { tonic::include_proto!("users.v1"); } }
    pub mod google { pub mod rpc { tonic::include_proto!("google.rpc"); } }
}
