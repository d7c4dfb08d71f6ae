using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tally.Redis.Hosting;

public static class RedisServiceCollectionExtensions
{
    /// <summary>The API's Redis connection, page cache and rate limiter.</summary>
    public static IServiceCollection AddTallyRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<PageCache>();
        services.AddSingleton<RateLimiter>();
        return services;
    }
}
