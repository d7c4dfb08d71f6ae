using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Tally.Api.Http;

/// <summary>Declares the bearer API-key scheme in the OpenAPI document and requires it everywhere but the open endpoints.</summary>
internal sealed class BearerSecurityTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Info.Title = "Tally API";
        document.Info.Description = "Stats, leaderboards and rollups for user action events. Authenticate with 'Authorization: Bearer <key>'.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "A tenant key (role ingest, read or admin) or the operator's cluster admin key.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        return Task.CompletedTask;
    }
}
