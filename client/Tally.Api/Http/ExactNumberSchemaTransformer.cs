using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Tally.Api.Http;

/// <summary>
/// Types numbers as numbers in the OpenAPI document. ASP.NET Core's web JSON defaults read numbers from strings too, so
/// the generated schema says <c>["integer", "string"]</c> with a pattern, and a generated client takes
/// <c>number | string</c> for <c>limit</c>. The contract (API.md) sends and answers numbers: the document says so.
/// </summary>
internal sealed class ExactNumberSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.String) && (type.HasFlag(JsonSchemaType.Integer) || type.HasFlag(JsonSchemaType.Number)))
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }
        return Task.CompletedTask;
    }
}
