//! The engine in a server of your own: `gateway.test.Library`, an annotated
//! service that is not the users API, served over gRPC and, transcoded, over
//! HTTP/JSON on one port, through the library's public API only.
//!
//! ```sh
//! cargo run --example library -- 127.0.0.1:8081
//! curl -X PATCH localhost:8081/v1/shelves/1/books/2 -d '{"title": "Dune"}'
//! curl localhost:8081/v1/shelves/1/books/2
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gateway::transcode::Gateway;
use library::library_direct::LibraryDirect;
use library::library_server::{Library, LibraryServer};
use library::{Book, Everything, GetBookRequest, GetFileRequest, UpdateBookRequest};
use tonic::{Request, Response, Status};

/// The code build.rs generates for `proto/testdata/library.proto`.
mod library {
    include!(concat!(env!("OUT_DIR"), "/library/gateway.test.rs"));
}

/// Its descriptor set, which the engine reads the HTTP rules from.
const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/test_descriptors.bin"));

/// Books in memory, by name (`shelves/1/books/2`).
#[derive(Default)]
struct Shelves {
    books: Mutex<HashMap<String, Book>>,
}

#[tonic::async_trait]
impl Library for Shelves {
    async fn get_book(&self, request: Request<GetBookRequest>) -> Result<Response<Book>, Status> {
        let name = &request.get_ref().name;
        let books = self.books.lock().expect("not poisoned");
        let book = books.get(name).cloned();
        book.map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no book {name}")))
    }

    async fn update_book(&self, request: Request<UpdateBookRequest>) -> Result<Response<Book>, Status> {
        let book = request.into_inner().book.unwrap_or_default();
        self.books
            .lock()
            .expect("not poisoned")
            .insert(book.name.clone(), book.clone());
        Ok(Response::new(book))
    }

    async fn get_file(&self, request: Request<GetFileRequest>) -> Result<Response<()>, Status> {
        Err(Status::not_found(format!("no file {}", request.get_ref().path)))
    }

    async fn search(&self, request: Request<Everything>) -> Result<Response<Everything>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    async fn archive(&self, _: Request<Everything>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let pool = prost_reflect::DescriptorPool::decode(DESCRIPTORS)?;
    let shelves = Arc::new(Shelves::default());
    let routes = tonic::service::Routes::new(LibraryServer::from_arc(shelves.clone()));
    // REST calls reach the same service: unary ones directly, without gRPC framing.
    let gateway = Gateway::builder(pool, routes.clone())
        .max_body_bytes(64 * 1024)
        .direct(LibraryDirect(shelves))
        .build()?;
    // gRPC paths go to tonic, every other request to the gateway.
    let app = routes.into_axum_router().fallback_service(gateway);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("library listening on http://{}", listener.local_addr()?);
    // With each connection's address, interceptors see the peer and REST
    // calls get `x-forwarded-for`.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
