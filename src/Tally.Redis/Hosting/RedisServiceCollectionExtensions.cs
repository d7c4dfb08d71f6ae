using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tally.Redis.Hosting;

public static class RedisServiceCollectionExtensions
{
    /// <summary>The Redis connection, page cache, board versions and rate limiter (each cheap; the silo uses only board versions).</summary>
    public static IServiceCollection AddTallyRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        services.AddSingleton<RedisConnection>();
        services.AddSingleton<PageCache>();
        services.AddSingleton<BoardVersions>();
        services.AddSingleton<RateLimiter>();
        return services;
    }
}
