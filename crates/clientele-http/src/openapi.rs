//! The OpenAPI document's frame: title, version, security scheme. Paths and schemas come
//! from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Clientele API", license(name = "AGPL-3.0-or-later"), description = "Contacts, events and metrics of one workspace. Every route needs `Authorization: Bearer <token>`."),
    security(("bearer" = [])),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

pub fn base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
