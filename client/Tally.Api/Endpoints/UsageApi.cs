using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tally.Api.Auth;
using Tally.Api.Http;
using Tally.Api.Models;
using Tally.Domain.Time;
using Tally.Postgres.Tenants;
using Tally.Postgres.Usage;

namespace Tally.Api.Endpoints;

/// <summary>
/// <c>GET /v1/usage?month=YYYY-MM</c>: events accepted, duplicate and rejected (by code) per arrival day in the
/// tenant's time zone, and the users active in the month. A tenant key sees its tenant; the cluster admin key
/// sees every tenant (per-site metering). Counts reach PostgreSQL within <c>Tally:Api:UsageFlushSeconds</c>.
/// </summary>
internal static class UsageApi
{
    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/usage", Get).WithTags("Usage").WithName("GetUsage").RequireAuthorization(TallyPolicies.ReadOrClusterAdmin)
           .WithSummary("Events accepted, duplicate and rejected per day, and active users, for a month")
           .WithDescription("month=YYYY-MM (default: the current month in the tenant's time zone; UTC for the cluster admin key, which lists every tenant). " +
                            "Counted by the day the request arrived; counts are stored every few seconds.")
           .ProducesErrors(400, 401, 403, 429, 503);
        app.MapGet("/v1/quality", Quality).WithTags("Usage").WithName("GetQuality").RequireAuthorization(TallyPolicies.Read)
           .WithSummary("How complete the raw events received on a day were, and what was rejected")
           .WithDescription("day=YYYY-MM-DD (default today in the tenant's time zone): events received by POST /v1/collect that day, those without a session, " +
                            "visitor or URL, and every event rejected that day by code. Counted by arrival day, stored every few seconds.")
           .ProducesErrors(400, 401, 403, 429, 503);
        return app;
    }

    private static async Task<Results<Ok<QualityResponse>, BadRequest<ErrorBody>>> Quality(string? day, TenantScope scope, UsageStore usage, TallyClock clock,
        CancellationToken ct)
    {
        var tenant = scope.Tenant;
        var date = tenant.Calendar.LocalDate(clock.UtcNow);
        if (day is not null && !DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
            return ApiError.BadRequest("invalid_day", "day must be a date like 2026-12-06.", "day");
        long received = 0, session = 0, visitor = 0, url = 0;
        var rejected = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in await usage.ReadDayAsync(tenant.TenantId, date, ct))
        {
            switch (c.Outcome, c.Code)
            {
                case (UsageOutcomes.Received, _): received += c.Events; break;
                case (UsageOutcomes.Missing, "session_id"): session += c.Events; break;
                case (UsageOutcomes.Missing, "visitor_id"): visitor += c.Events; break;
                case (UsageOutcomes.Missing, "url"): url += c.Events; break;
                case (UsageOutcomes.Rejected, var code): rejected[code] = rejected.GetValueOrDefault(code) + c.Events; break;
            }
        }
        return TypedResults.Ok(new QualityResponse(TenantCalendar.FormatDay(date), received, session, visitor, url, rejected));
    }

    internal sealed record UsageQuery([FromQuery(Name = "month")] string? Month, [FromQuery(Name = "by")] string? By);

    private static async Task<Results<Ok<UsageResponse>, Ok<UsageListResponse>, Ok<SiteUsageResponse>, BadRequest<ErrorBody>>> Get(
        [AsParameters] UsageQuery query, HttpContext context, UsageStore usage, TenantConfigCache tenants, TenantStore store, TallyClock clock, CancellationToken ct)
    {
        var now = clock.UtcNow;
        if (query.By is not (null or "site"))
            return ApiError.BadRequest("invalid_by", "by must be site (each site's events and amount), or absent.", "by");
        if (context.User.IsClusterAdmin())
        {
            if (query.By is not null)
                return ApiError.BadRequest("invalid_by", "by=site lists one tenant's sites: use that tenant's read key.", "by");
            var (month, error) = ParseMonth(query.Month, DateOnly.FromDateTime(now.UtcDateTime));
            if (error is not null) return error;
            var (counts, active) = await usage.ReadMonthAsync(null, month, ct);
            var byTenant = counts.ToLookup(c => c.TenantId);
            var list = new List<UsageResponse>();
            foreach (var id in await store.ListIdsAsync(ct))
            {
                var loaded = await tenants.GetAsync(id, 0, ct);
                var today = loaded?.Calendar.LocalDate(now) ?? DateOnly.FromDateTime(now.UtcDateTime);
                list.Add(Build(id, month, today, byTenant[id], active.GetValueOrDefault(id), loaded?.Config.Billing));
            }
            return TypedResults.Ok(new UsageListResponse(FormatMonth(month), list.ToArray()));
        }
        var tenant = (await TenantScope.BindAsync(context))!.Tenant;
        var tenantToday = tenant.Calendar.LocalDate(now);
        var (tenantMonth, monthError) = ParseMonth(query.Month, tenantToday);
        if (monthError is not null) return monthError;
        var billing = tenant.Config.Billing;
        if (query.By == "site")
        {
            var sites = await usage.ReadSitesAsync(tenant.TenantId, tenantMonth, ct);
            return TypedResults.Ok(new SiteUsageResponse(tenant.TenantId, FormatMonth(tenantMonth), sites
                .Select(x => new SiteUsage(x.Site, TenantCalendar.FormatDay(x.FirstSeen), x.Accepted, billing?.AmountFor(x.Accepted))).ToArray()));
        }
        var (rows, users) = await usage.ReadMonthAsync(tenant.TenantId, tenantMonth, ct);
        return TypedResults.Ok(Build(tenant.TenantId, tenantMonth, tenantToday, rows, users.GetValueOrDefault(tenant.TenantId), billing));
    }

    /// <summary>Totals and one entry per day of the month up to today (every day for a past month, none for a future one).</summary>
    private static UsageResponse Build(string tenantId, DateOnly month, DateOnly today, IEnumerable<UsageCount> counts, long activeUsers,
        Tally.Domain.Config.BillingConfig? billing)
    {
        var last = month.AddMonths(1).AddDays(-1);
        if (today < last) last = today;
        var days = new Dictionary<DateOnly, (long Accepted, long Duplicate, long Rejected)>();
        for (var d = month; d <= last; d = d.AddDays(1)) days[d] = (0, 0, 0);
        var byCode = new Dictionary<string, long>(StringComparer.Ordinal);
        long accepted = 0, duplicate = 0, rejected = 0;
        foreach (var c in counts)
        {
            var day = days.GetValueOrDefault(c.Day);
            switch (c.Outcome)
            {
                case UsageOutcomes.Accepted: accepted += c.Events; day.Accepted += c.Events; break;
                case UsageOutcomes.Duplicate: duplicate += c.Events; day.Duplicate += c.Events; break;
                case UsageOutcomes.Rejected:
                    rejected += c.Events;
                    day.Rejected += c.Events;
                    byCode[c.Code] = byCode.GetValueOrDefault(c.Code) + c.Events;
                    break;
                default: continue; // collection's quality and per-site counts (GET /v1/quality, ?by=site)
            }
            days[c.Day] = day;
        }
        var entries = days.OrderBy(d => d.Key)
            .Select(d => new UsageDay(TenantCalendar.FormatDay(d.Key), d.Value.Accepted, d.Value.Duplicate, d.Value.Rejected)).ToArray();
        return new UsageResponse(tenantId, FormatMonth(month), accepted, duplicate, rejected, byCode, activeUsers, entries,
            billing?.AmountFor(accepted), billing?.Currency);
    }

    private static (DateOnly Month, BadRequest<ErrorBody>? Error) ParseMonth(string? text, DateOnly today)
    {
        if (text is null) return (new DateOnly(today.Year, today.Month, 1), null);
        if (text.Length == 7 && DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month)
            && month.Year <= Tally.Domain.Boards.Periods.MaxYear)
            return (month, null);
        return (default, ApiError.BadRequest("invalid_month", "month must be a month like 2026-11.", "month"));
    }

    private static string FormatMonth(DateOnly month) => month.ToString("yyyy-MM", CultureInfo.InvariantCulture);
}
