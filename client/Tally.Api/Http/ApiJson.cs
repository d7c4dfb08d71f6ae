using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tally.Api.Http;

internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads a JSON body within the size limit. Returns an error result instead of throwing for bad bodies.</summary>
    public static async Task<(JsonDocument? Doc, IResult? Error)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
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
            return (null, ApiError.BadRequest("invalid_body", ex.Message));
        }
        catch (JsonException ex)
        {
            return (null, ApiError.BadRequest("invalid_json", $"The body is not valid JSON: {ex.Message}"));
        }
    }
}
