using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tally.Api.Http;

internal static class ApiJson
{
    /// <summary>snake_case, plain UTF-8: only what JSON requires is escaped (no <c>\u0027</c> for an apostrophe);
    /// answers are application/json, never embedded in HTML.</summary>
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return options;
    }

    /// <summary>Reads a JSON body within the size limit. Returns an error result instead of throwing for bad bodies.</summary>
    public static async Task<(JsonDocument? Doc, Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<ErrorBody>? Error)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            var doc = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 64 }, ct);
            return (doc, null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, ApiError.Status(413, "body_too_large", "The request body is larger than the configured limit."));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, ApiError.Status(400, "invalid_body", ex.Message));
        }
        catch (JsonException ex)
        {
            return (null, ApiError.Status(400, "invalid_json", $"The body is not valid JSON: {ex.Message}"));
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("UTF-8", StringComparison.Ordinal) || ex.Message.Contains("UTF-16", StringComparison.Ordinal))
        {
            // System.Text.Json reports invalid UTF-8 this way, without a position: the body cannot be read as text.
            return (null, ApiError.Status(400, "invalid_encoding", "The body is not valid UTF-8."));
        }
    }
}
