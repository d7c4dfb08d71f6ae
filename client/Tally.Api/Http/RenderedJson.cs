using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;

namespace Tally.Api.Http;

/// <summary>
/// A 200 whose JSON body is already rendered (a cached leaderboard page), written as is; for the OpenAPI
/// document it declares the <typeparamref name="T"/> the bytes hold.
/// </summary>
internal sealed class RenderedJson<T>(byte[] body) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public Task ExecuteAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
}
