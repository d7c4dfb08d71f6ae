using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using Tally.Api.Hosting;
using Tally.Api.Http;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

public class RecentPagesTests
{
    private static RecentPages Make(FakeTimeProvider clock, int ms) =>
        new(Options.Create(new ApiOptions { LocalPageCacheMs = ms }), clock, new ApiMetrics(TestMeters.Factory));

    [Fact]
    public void a_page_is_answered_from_memory_until_it_is_local_page_cache_ms_old()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 29, 0, 30, 0, TimeSpan.FromHours(1)));
        var pages = Make(clock, 200);
        var key = RecentPages.Key("t1", 3, "co2/global/all_time", 0, 100);
        pages.Get(key).ShouldBeNull();

        pages.Set(key, [1, 2, 3]);
        clock.Advance(TimeSpan.FromMilliseconds(199));
        pages.Get(key).ShouldBe(new byte[] { 1, 2, 3 });
        clock.Advance(TimeSpan.FromMilliseconds(1));
        pages.Get(key).ShouldBeNull();
    }

    [Fact]
    public void keys_carry_the_tenant_its_config_version_the_board_and_the_range()
    {
        var pages = Make(new FakeTimeProvider(), 1000);
        pages.Set(RecentPages.Key("t1", 3, "b", 0, 100), [1]);
        pages.Get(RecentPages.Key("t2", 3, "b", 0, 100)).ShouldBeNull();
        pages.Get(RecentPages.Key("t1", 4, "b", 0, 100)).ShouldBeNull();
        pages.Get(RecentPages.Key("t1", 3, "c", 0, 100)).ShouldBeNull();
        pages.Get(RecentPages.Key("t1", 3, "b", 100, 100)).ShouldBeNull();
        pages.Get(RecentPages.Key("t1", 3, "b", 0, 10)).ShouldBeNull();
        pages.Get(RecentPages.Key("t1", 3, "b", 0, 100)).ShouldBe(new byte[] { 1 });
    }

    [Fact]
    public void zero_keeps_nothing()
    {
        var pages = Make(new FakeTimeProvider(), 0);
        var key = RecentPages.Key("t1", 1, "b", 0, 100);
        pages.Set(key, [1]);
        pages.Get(key).ShouldBeNull();
    }
}
