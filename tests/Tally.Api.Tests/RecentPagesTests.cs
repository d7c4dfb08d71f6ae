using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The API's memory of pages it rendered lately, on a real <see cref="HybridCache"/> as the API registers it.</summary>
public sealed class RecentPagesTests : IDisposable
{
    private readonly ServiceProvider _services;

    public RecentPagesTests() => _services = RecentPages.Add(new ServiceCollection(), maxBytes: 10_000).BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    private RecentPages Make(int ms) =>
        new(_services.GetRequiredService<HybridCache>(), Options.Create(new ApiOptions { LocalPageCacheMs = ms }), new ApiMetrics(TestMeters.Factory));

    private int _renders;

    private Task<byte[]> Render()
    {
        var n = Interlocked.Increment(ref _renders);
        return Task.FromResult(new[] { (byte)n });
    }

    [Fact]
    public async Task a_page_is_answered_from_memory_until_it_is_local_page_cache_ms_old()
    {
        var pages = Make(1000);
        var key = RecentPages.Key("t1", 3, "co2/global/all_time", 0, 100);
        (await pages.GetOrRenderAsync(key, Render)).ShouldBe(new byte[] { 1 });
        (await pages.GetOrRenderAsync(key, Render)).ShouldBe(new byte[] { 1 }, "answered from memory");
        _renders.ShouldBe(1);
        await Eventually.WaitFor(async () => (await pages.GetOrRenderAsync(key, Render))[0], b => b == 2, TimeSpan.FromSeconds(10),
            "the page rendered again once it is older than LocalPageCacheMs");
    }

    [Fact]
    public async Task keys_carry_the_tenant_its_config_version_the_board_and_the_range()
    {
        var pages = Make(1000);
        string[] keys =
        [
            RecentPages.Key("t1", 3, "b", 0, 100), RecentPages.Key("t2", 3, "b", 0, 100), RecentPages.Key("t1", 4, "b", 0, 100),
            RecentPages.Key("t1", 3, "c", 0, 100), RecentPages.Key("t1", 3, "b", 100, 100), RecentPages.Key("t1", 3, "b", 0, 10),
        ];
        foreach (var key in keys) await pages.GetOrRenderAsync(key, Render);
        _renders.ShouldBe(keys.Length, "every key is a page of its own");
        (await pages.GetOrRenderAsync(keys[0], Render)).ShouldBe(new byte[] { 1 });
    }

    [Fact]
    public async Task a_board_whose_text_holds_a_control_character_is_kept_under_a_key_of_its_own()
    {
        var pages = Make(1000);
        var tab = RecentPages.Key("t1", 3, "co2/org:a\tb/all_time", 0, 100);
        tab.ShouldNotContain("\t");
        tab.ShouldNotBe(RecentPages.Key("t1", 3, "co2/org:a b/all_time", 0, 100));
        await pages.GetOrRenderAsync(tab, Render);
        (await pages.GetOrRenderAsync(tab, Render)).ShouldBe(new byte[] { 1 }, "kept: HybridCache accepted the key");
        _renders.ShouldBe(1);
    }

    [Fact]
    public async Task pages_beyond_the_memory_bound_are_served_and_not_kept()
    {
        var pages = Make(1000);
        Task<byte[]> Big() => Task.FromResult(new byte[20_000]);
        var renders = 0;
        for (var i = 0; i < 3; i++) await pages.GetOrRenderAsync(RecentPages.Key("t1", 1, "b", 0, 1000), () => { renders++; return Big(); });
        renders.ShouldBe(3, "a page larger than the bound is rendered for every reader");
        await pages.GetOrRenderAsync(RecentPages.Key("t1", 1, "b", 0, 10), Render);
        await pages.GetOrRenderAsync(RecentPages.Key("t1", 1, "b", 0, 10), Render);
        _renders.ShouldBe(1, "a page that fits is kept");
    }

    [Fact]
    public async Task zero_keeps_nothing()
    {
        var pages = Make(0);
        var key = RecentPages.Key("t1", 1, "b", 0, 100);
        await pages.GetOrRenderAsync(key, Render);
        (await pages.GetOrRenderAsync(key, Render)).ShouldBe(new byte[] { 2 });
    }

    [Fact]
    public async Task readers_of_a_page_being_rendered_share_that_rendering_and_a_failure_is_not_remembered()
    {
        var pages = Make(1000);
        var release = new TaskCompletionSource();
        async Task<byte[]> Slow()
        {
            var n = Interlocked.Increment(ref _renders);
            await release.Task;
            return [(byte)n];
        }
        var key = RecentPages.Key("t1", 1, "b", 0, 100);
        var readers = Enumerable.Range(0, 8).Select(_ => pages.GetOrRenderAsync(key, Slow).AsTask()).ToArray();
        await Eventually.WaitFor(() => Task.FromResult(_renders), n => n >= 1, TimeSpan.FromSeconds(5), "the first rendering started");
        release.SetResult();
        (await Task.WhenAll(readers)).ShouldAllBe(r => r.SequenceEqual(new byte[] { 1 }));
        _renders.ShouldBe(1);

        var failing = RecentPages.Key("t1", 1, "b", 100, 100);
        await Should.ThrowAsync<InvalidOperationException>(async () => await pages.GetOrRenderAsync(failing, () => throw new InvalidOperationException("down")));
        (await pages.GetOrRenderAsync(failing, Render)).ShouldBe(new byte[] { 2 });
    }
}
