using Microsoft.Extensions.DependencyInjection;

namespace Tally.Client;

public static class TallyClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="TallyClient"/> as a typed client of <c>IHttpClientFactory</c>, with the client's retry and
    /// timeout pipeline as its resilience handler:
    /// <code>services.AddTallyClient(o => { o.BaseAddress = new Uri("https://tally.example.com"); o.ApiKey = key; });</code>
    /// </summary>
    public static IHttpClientBuilder AddTallyClient(this IServiceCollection services, Action<TallyClientOptions> configure)
    {
        services.AddOptions<TallyClientOptions>().Configure(configure).Validate(o =>
        {
            o.Validate();
            return true;
        });
        var builder = services.AddHttpClient<TallyClient>();
        builder.AddResilienceHandler("tally", (pipeline, context) =>
            TallyResilience.Configure(pipeline, context.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<TallyClientOptions>>().Value));
        return builder;
    }
}
