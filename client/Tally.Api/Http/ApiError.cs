using System.Text.Json.Serialization;
using Tally.Domain;

namespace Tally.Api.Http;

/// <summary>The error body of every non-2xx answer: <c>{"error": {"code", "message", "field"}}</c>.</summary>
public sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

public sealed record ErrorDetail(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("field"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null)
{
    public static ErrorDetail From(ValidationError e) => new(e.Code, e.Message, e.Field);
}

internal static class ApiError
{
    public static IResult Status(int status, string code, string message, string? field = null) =>
        Results.Json(new ErrorBody(new ErrorDetail(code, message, field)), ApiJson.Options, statusCode: status);

    public static IResult BadRequest(string code, string message, string? field = null) => Status(400, code, message, field);

    public static IResult BadRequest(ValidationError e) => Status(400, e.Code, e.Message, e.Field);

    public static IResult Unauthorized(string message) => Status(401, "unauthorized", message);

    public static IResult Forbidden(string message) => Status(403, "forbidden", message);

    public static IResult NotFound(string code, string message) => Status(404, code, message);
}
