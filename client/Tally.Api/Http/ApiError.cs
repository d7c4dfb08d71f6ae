using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Tally.Domain;

namespace Tally.Api.Http;

/// <summary>The error body of every non-2xx answer: <c>{"error": {"code", "message", "field"}}</c>.</summary>
public sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

/// <summary>What went wrong: a machine-readable code, a message for people, and the field at fault when there is one.</summary>
public sealed record ErrorDetail(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("field"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null)
{
    public static ErrorDetail From(ValidationError e) => new(e.Code, e.Message, e.Field);
}

/// <summary>Typed error results (so the OpenAPI document names each status) and a writer for middleware.</summary>
internal static class ApiError
{
    public static BadRequest<ErrorBody> BadRequest(string code, string message, string? field = null) =>
        TypedResults.BadRequest(Body(code, message, field));

    public static BadRequest<ErrorBody> BadRequest(ValidationError e) => TypedResults.BadRequest(Body(e.Code, e.Message, e.Field));

    public static NotFound<ErrorBody> NotFound(string code, string message) => TypedResults.NotFound(Body(code, message));

    public static Conflict<ErrorBody> Conflict(string code, string message, string? field = null) => TypedResults.Conflict(Body(code, message, field));

    public static JsonHttpResult<ErrorBody> Status(int status, string code, string message, string? field = null) =>
        TypedResults.Json(Body(code, message, field), statusCode: status);

    public static ErrorBody Body(string code, string message, string? field = null) => new(new ErrorDetail(code, message, field));

    /// <summary>Writes the error body from middleware (authentication, exception handler, status pages).</summary>
    public static Task WriteAsync(HttpContext context, int status, string code, string message, string? field = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(Body(code, message, field), ApiJson.Options, "application/json; charset=utf-8", context.RequestAborted);
    }
}
