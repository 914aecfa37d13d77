//! The Open Inference Protocol's gRPC API (`inference.GRPCInferenceService`, the KServe v2
//! protocol that `tritonclient.grpc` and KServe's client speak) on its own port: health,
//! metadata and inference.
//!
//! It shares everything with the REST API but the wire: the model registry (hot reload
//! included), the concurrency gate and request timeout, the metrics (protocol label `grpc`),
//! graceful shutdown, and the tensor-to-batch code (`kserve_v2::build`), so a tensor scores
//! the same whichever way it came. Inputs come as raw little-endian bytes
//! (`raw_input_contents`, the clients' default, in the binary layout of the REST extension) or
//! as typed `contents`; outputs always go back as `raw_output_contents`.

use std::time::Instant;

use tonic::{Request, Response, Status};

use crate::App;
use crate::error::ApiError;
use crate::limits::INLINE_ROWS;
use crate::metrics::UNKNOWN_MODEL;
use crate::protocol::Value;
use crate::protocol::binary;
use crate::protocol::kserve_v2::{self, TensorIn, datatype, elements, tensor_metadata};
use crate::routes::scoring::{blocking, guard};

/// Code generated from `proto/inference.proto` by `build.rs`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod pb {
    tonic::include_proto!("inference");
}

use pb::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use pb::model_infer_response::InferOutputTensor;
use pb::model_metadata_response::TensorMetadata;

/// Serve the gRPC API on `listener` until `shutdown` resolves, then let calls in flight end.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    // Messages as large as the REST body limit (the default of 4 MiB is tonic's too).
    let limit = app.config().limits.max_body_bytes;
    let service = GrpcInferenceServiceServer::new(Service { app })
        .max_decoding_message_size(limit)
        .max_encoding_message_size(usize::MAX);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(
            // Small answers go out at once, not held back by Nagle's algorithm behind the
            // acknowledgement of an earlier frame (a ping reply, say).
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}

struct Service {
    app: App,
}

/// An API error as a gRPC status, with the REST API's message.
fn status(e: ApiError) -> Status {
    let message = e.to_string();
    match e.status().as_u16() {
        400 => Status::invalid_argument(message),
        404 => Status::not_found(message),
        413 => Status::resource_exhausted(message),
        429 | 503 => Status::unavailable(message),
        504 => Status::deadline_exceeded(message),
        _ => Status::internal(message),
    }
}

impl Service {
    fn model_checked(
        &self,
        name: &str,
        version: &str,
    ) -> Result<std::sync::Arc<crate::LoadedModel>, ApiError> {
        let model = self.app.repository().model(name)?;
        if !version.is_empty() && version != model.version() {
            return Err(ApiError::UnknownVersion {
                name: name.to_string(),
                version: version.to_string(),
                serving: model.version().to_string(),
            });
        }
        Ok(model)
    }

    async fn infer(
        &self,
        req: pb::ModelInferRequest,
    ) -> Result<(pb::ModelInferResponse, usize), ApiError> {
        let model = self.model_checked(&req.model_name, &req.model_version)?;
        let permit = self.app.gate().enter()?;
        let limits = self.app.config().limits.clone();
        let tensors = input_tensors(&req)?;
        let outputs = (!req.outputs.is_empty())
            .then(|| req.outputs.iter().map(|o| (o.name.clone(), true)).collect());
        let id = (!req.id.is_empty()).then(|| req.id.clone());
        let parsed = guard(|| kserve_v2::build(&model, &limits, tensors, id, outputs, true))?;
        let job = {
            let model = model.clone();
            move || {
                let scored = model.scorer().score(&parsed.built.batch)?;
                let answer = respond(&model, &parsed, &scored)?;
                Ok((answer, scored.num_rows()))
            }
        };
        if parsed_rows_small(&req) {
            let out = guard(job);
            drop(permit);
            return out;
        }
        blocking(permit, job).await
    }
}

/// Whether a request is small enough to score on the connection's task (as REST does).
fn parsed_rows_small(req: &pb::ModelInferRequest) -> bool {
    req.inputs
        .first()
        .and_then(|t| t.shape.first())
        .is_some_and(|&n| n >= 0 && n as usize <= INLINE_ROWS)
}

/// The request's input tensors, their values from `raw_input_contents` or `contents`.
fn input_tensors(req: &pb::ModelInferRequest) -> Result<Vec<TensorIn<'_>>, ApiError> {
    let bad = ApiError::InvalidRequest;
    let raw = &req.raw_input_contents;
    if !raw.is_empty() && raw.len() != req.inputs.len() {
        return Err(bad(format!(
            "raw_input_contents holds {} tensors for {} inputs; send one per input, or none",
            raw.len(),
            req.inputs.len()
        )));
    }
    req.inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let name = &input.name;
            let count = elements(&input.shape);
            let data = match (raw.get(i), &input.contents) {
                (Some(bytes), _) => {
                    binary::decode(name, &input.datatype, bytes, count).map_err(bad)?
                }
                (None, Some(contents)) => contents_values(name, &input.datatype, contents)?,
                (None, None) => {
                    return Err(bad(format!("input `{name}` has no contents")));
                }
            };
            Ok(TensorIn {
                name: name.clone(),
                datatype: input.datatype.clone(),
                shape: input.shape.clone(),
                data,
            })
        })
        .collect()
}

/// A tensor's values from the typed `contents` list its datatype uses.
fn contents_values<'a>(
    name: &str,
    datatype: &str,
    c: &'a pb::InferTensorContents,
) -> Result<Vec<Value<'a>>, ApiError> {
    fn nums<T: Copy + Into<f64>>(v: &[T]) -> Vec<Value<'static>> {
        v.iter().map(|&x| Value::Num(x.into())).collect()
    }
    Ok(match datatype {
        "BOOL" => c.bool_contents.iter().map(|&b| Value::Bool(b)).collect(),
        "INT8" | "INT16" | "INT32" => nums(&c.int_contents),
        "INT64" => c
            .int64_contents
            .iter()
            .map(|&x| Value::Num(x as f64))
            .collect(),
        "UINT8" | "UINT16" | "UINT32" => nums(&c.uint_contents),
        "UINT64" => c
            .uint64_contents
            .iter()
            .map(|&x| Value::Num(x as f64))
            .collect(),
        "FP32" => nums(&c.fp32_contents),
        "FP64" => nums(&c.fp64_contents),
        "BYTES" => c
            .bytes_contents
            .iter()
            .enumerate()
            .map(|(i, b)| {
                std::str::from_utf8(b)
                    .map(|s| Value::Str(s.into()))
                    .map_err(|_| {
                        ApiError::InvalidRequest(format!(
                            "input `{name}`: BYTES element {i} is not UTF-8 text"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(ApiError::InvalidRequest(format!(
                "input `{name}`: {other} has no typed contents; send it in raw_input_contents"
            )));
        }
    })
}

/// The inference response: every output as raw little-endian bytes.
fn respond(
    model: &crate::LoadedModel,
    req: &kserve_v2::Request,
    scored: &arrow_array::RecordBatch,
) -> Result<pb::ModelInferResponse, ApiError> {
    let mut outputs = Vec::new();
    let mut raw = Vec::new();
    for out in kserve_v2::out_tensors(req, scored)? {
        let bytes = binary::encode(out.values.as_ref()).ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "output `{}` ({}) has no tensor form over gRPC; ask for the other outputs",
                out.name,
                out.values.data_type()
            ))
        })?;
        outputs.push(InferOutputTensor {
            name: out.name.to_string(),
            datatype: datatype(out.values.data_type()).to_string(),
            shape: out.shape.iter().map(|&d| d as i64).collect(),
            parameters: Default::default(),
            contents: None,
        });
        raw.push(bytes);
    }
    Ok(pb::ModelInferResponse {
        model_name: model.name().to_string(),
        model_version: model.version().to_string(),
        id: req.id().unwrap_or_default().to_string(),
        parameters: Default::default(),
        outputs,
        raw_output_contents: raw,
    })
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<pb::ServerLiveRequest>,
    ) -> Result<Response<pb::ServerLiveResponse>, Status> {
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        let ready = !self.app.is_draining() && self.app.repository().all_ready();
        Ok(Response::new(pb::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let r = request.into_inner();
        match self.model_checked(&r.name, &r.version) {
            Ok(_) => Ok(Response::new(pb::ModelReadyResponse { ready: true })),
            Err(ApiError::ModelUnavailable { .. }) => {
                Ok(Response::new(pb::ModelReadyResponse { ready: false }))
            }
            Err(e) => Err(status(e)),
        }
    }

    async fn server_metadata(
        &self,
        _: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        Ok(Response::new(pb::ServerMetadataResponse {
            name: "scorewell".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: vec!["binary_tensor_data".into()],
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        let r = request.into_inner();
        let model = self.model_checked(&r.name, &r.version).map_err(status)?;
        let tensor = |(name, datatype): (String, &str)| TensorMetadata {
            name,
            datatype: datatype.to_string(),
            shape: vec![-1],
        };
        let (inputs, outputs) = tensor_metadata(&model);
        Ok(Response::new(pb::ModelMetadataResponse {
            name: model.name().to_string(),
            versions: vec![model.version().to_string()],
            platform: "scorewell".into(),
            inputs: inputs.into_iter().map(tensor).collect(),
            outputs: outputs.into_iter().map(tensor).collect(),
        }))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        let name = req.model_name.clone();
        let metrics = self.app.metrics();
        let limit = self.app.config().limits.timeout;
        let result = match tokio::time::timeout(limit, self.infer(req)).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::Timeout {
                ms: limit.as_millis(),
            }),
        };
        let elapsed = started.elapsed();
        match result {
            Ok((response, rows)) => {
                metrics.request(&name, "grpc", 200, None, elapsed, rows);
                Ok(Response::new(response))
            }
            Err(e) => {
                let label = match &e {
                    ApiError::UnknownModel { .. } => UNKNOWN_MODEL,
                    _ => name.as_str(),
                };
                metrics.request(
                    label,
                    "grpc",
                    e.status().as_u16(),
                    Some(e.code()),
                    elapsed,
                    0,
                );
                Err(status(e))
            }
        }
    }
}
