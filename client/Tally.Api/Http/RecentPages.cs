using System.Buffers;
using System.ComponentModel;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tally.Api.Hosting;

namespace Tally.Api.Http;

/// <summary>
/// Leaderboard pages this API instance rendered in the last <see cref="ApiOptions.LocalPageCacheMs"/>, answered from
/// memory without asking Redis for the board's version or the page, on <see cref="HybridCache"/>'s local tier. A hot
/// page read thousands of times a second then costs Redis a few reads a second per instance instead of two per request,
/// and concurrent misses of one page share one rendering (HybridCache's stampede protection). The price is freshness:
/// a page may be that much older than the board, which stays inside the contract's "within about a second". Keys carry
/// the tenant and its config version, as the shared cache's do. Bounded: the local tier holds at most
/// <see cref="MaxBytes"/> of pages (<see cref="Add"/>); a page that does not fit is served and not kept.
/// </summary>
internal sealed class RecentPages(HybridCache cache, IOptions<ApiOptions> options, ApiMetrics metrics)
{
    public const long MaxBytes = 32L * 1024 * 1024;

    /// <summary>Registers HybridCache (local tier only, at most <paramref name="maxBytes"/> of pages) and the pages on it.
    /// The bound is the memory cache's size limit: HybridCache gives each entry its payload's size.</summary>
    public static IServiceCollection Add(IServiceCollection services, long maxBytes = MaxBytes)
    {
        // The limit is on the process's IMemoryCache, which nothing else in the API uses: an entry added there
        // without a size would now throw. Another user of IMemoryCache needs its own MemoryCache instance.
        services.AddMemoryCache(o => o.SizeLimit = maxBytes);
        services.AddHybridCache().AddSerializer<RenderedPage, RenderedPageSerializer>();
        return services.AddSingleton<RecentPages>();
    }

    private readonly HybridCacheEntryOptions _entry = new()
    {
        LocalCacheExpiration = TimeSpan.FromMilliseconds(Math.Max(1, options.Value.LocalPageCacheMs)),
        // The shared tier is PageCache (keys by board version); HybridCache keeps only this instance's memory.
        Flags = HybridCacheEntryFlags.DisableDistributedCache
            | (options.Value.LocalPageCacheMs == 0 ? HybridCacheEntryFlags.DisableLocalCache : HybridCacheEntryFlags.None),
    };

    /// <summary>A page's key. Only the board's text is free-form, and it sits between fields that cannot hold the
    /// separator (a tenant id, numbers), so no two pages share a key. HybridCache refuses keys with control characters
    /// (it then neither keeps the page nor shares its rendering, and logs an error), and a dimension value may hold one:
    /// such a board's text goes into the key as hex, marked by a leading <c>~</c> no board's text starts with.</summary>
    public static string Key(string tenantId, long configVersion, string board, int offset, int limit) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{tenantId}|{configVersion}|{KeySafe(board)}|{offset}|{limit}");

    private static string KeySafe(string board)
    {
        foreach (var c in board)
            if (char.IsControl(c)) return "~" + Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(board));
        return board;
    }

    /// <summary>The page under <paramref name="key"/> if this instance rendered it lately; otherwise <paramref name="render"/>'s, kept.
    /// A reader that joins a rendering already under way for the key gets that rendering's page and counts as a hit.</summary>
    public async ValueTask<byte[]> GetOrRenderAsync(string key, Func<Task<byte[]>> render)
    {
        var rendered = false;
        var page = await cache.GetOrCreateAsync(key, async _ =>
        {
            rendered = true;
            return new RenderedPage(await render());
        }, _entry);
        if (!rendered) metrics.LocalPageHits.Add(1);
        return page.Body;
    }
}

/// <summary>A page's JSON as sent; immutable, so HybridCache's local tier keeps the instance instead of a copy.</summary>
[ImmutableObject(true)]
internal sealed record RenderedPage(byte[] Body);

/// <summary>The page's bytes as they are (HybridCache asks every cached type for a serializer).</summary>
internal sealed class RenderedPageSerializer : IHybridCacheSerializer<RenderedPage>
{
    public RenderedPage Deserialize(ReadOnlySequence<byte> source) => new(source.ToArray());

    public void Serialize(RenderedPage value, IBufferWriter<byte> target) => target.Write(value.Body);
}
