namespace Tally.Api.Http;

internal static class EndpointMetadata
{
    /// <summary>Declares the error statuses an endpoint answers with the contract's error body (for the OpenAPI document).</summary>
    public static TBuilder ProducesErrors<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        return builder;
    }
}
