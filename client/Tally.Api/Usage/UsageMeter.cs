using Microsoft.Extensions.Options;
using Tally.Api.Hosting;
using Tally.Api.Models;
using Tally.Postgres.Usage;

namespace Tally.Api.Usage;

/// <summary>
/// Counts every answered ingest request's events by tenant, arrival day (the tenant's time zone),
/// outcome and rejection code (events answered <c>retry</c> are not counted: they come again), and the users with accepted events per month; adds them to PostgreSQL
/// every <see cref="ApiOptions.UsageFlushSeconds"/> in one round trip (a failed flush is kept for the next).
/// Counting is in memory and costs the request a lock and a few dictionary updates.
/// </summary>
internal sealed class UsageMeter(UsageStore store, IOptions<ApiOptions> options, ILogger<UsageMeter> logger) : BackgroundService
{
    // Users already stored for a month are not sent again; bounded, so a huge tenant costs re-sends, not memory.
    private const int MaxRemembered = 1_000_000;

    private readonly Lock _lock = new();
    private Dictionary<(string Tenant, DateOnly Day, string Outcome, string Code), long> _counts = new();
    private HashSet<ActiveUser> _users = new();
    private readonly HashSet<ActiveUser> _stored = new();

    /// <summary>Counts one answered request: <paramref name="userIds"/>[i] is the user of result i (null if the event was invalid).
    /// Outcomes are tallied before the lock, so the shared table takes a few updates per request, not one per event.</summary>
    public void Record(string tenantId, DateOnly day, EventResult[] results, string?[] userIds)
    {
        long accepted = 0, duplicates = 0;
        Dictionary<string, long>? rejected = null;
        foreach (var r in results)
        {
            if (r.Status == "accepted") accepted++;
            else if (r.Status == "duplicate") duplicates++;
            else if (r.Status == "rejected")
            {
                rejected ??= new Dictionary<string, long>(StringComparer.Ordinal);
                var code = r.Error?.Code ?? "rejected";
                rejected[code] = rejected.GetValueOrDefault(code) + 1;
            }
        }
        var month = new DateOnly(day.Year, day.Month, 1);
        lock (_lock)
        {
            Add((tenantId, day, "accepted", ""), accepted);
            Add((tenantId, day, "duplicate", ""), duplicates);
            if (rejected is not null)
                foreach (var (code, n) in rejected) Add((tenantId, day, "rejected", code), n);
            if (accepted == 0) return;
            for (var i = 0; i < results.Length; i++)
                if (userIds[i] is { } user && results[i].Status == "accepted")
                {
                    var active = new ActiveUser(tenantId, month, user);
                    if (!_stored.Contains(active)) _users.Add(active);
                }
        }
    }

    /// <summary>Counts what a collection request brought (GET /v1/quality, GET /v1/usage?by=site): the raw events received,
    /// those without a session, visitor or URL, and per site the events accepted.</summary>
    public void RecordCollected(string tenantId, DateOnly day, CollectTally tally)
    {
        lock (_lock)
        {
            Add((tenantId, day, UsageOutcomes.Received, ""), tally.Received);
            Add((tenantId, day, UsageOutcomes.Missing, "session_id"), tally.MissingSessionId);
            Add((tenantId, day, UsageOutcomes.Missing, "visitor_id"), tally.MissingVisitorId);
            Add((tenantId, day, UsageOutcomes.Missing, "url"), tally.MissingUrl);
            foreach (var (site, n) in tally.AcceptedBySite) Add((tenantId, day, UsageOutcomes.Site, site), n);
        }
    }

    private void Add((string Tenant, DateOnly Day, string Outcome, string Code) key, long events)
    {
        if (events > 0) _counts[key] = _counts.GetValueOrDefault(key) + events;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.UsageFlushSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken); // what the last interval counted
    }

    /// <summary>Adds what was counted since the last flush; on failure it stays for the next one.</summary>
    internal async Task FlushAsync(CancellationToken ct)
    {
        Dictionary<(string Tenant, DateOnly Day, string Outcome, string Code), long> counts;
        HashSet<ActiveUser> users;
        lock (_lock)
        {
            if (_counts.Count == 0 && _users.Count == 0) return;
            (counts, _counts) = (_counts, new());
            (users, _users) = (_users, new());
        }
        try
        {
            await store.AddAsync(counts.Select(c => new UsageCount(c.Key.Tenant, c.Key.Day, c.Key.Outcome, c.Key.Code, c.Value)).ToList(), users.ToList(), ct);
            lock (_lock)
            {
                if (_stored.Count + users.Count > MaxRemembered) _stored.Clear();
                _stored.UnionWith(users);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning("Usage counts could not be stored ({Error}); kept for the next flush.", ex.Message);
            lock (_lock)
            {
                foreach (var (key, n) in counts) _counts[key] = _counts.GetValueOrDefault(key) + n;
                _users.UnionWith(users);
            }
        }
    }
}

/// <summary>What one collection request brought, for the quality and per-site counts.</summary>
internal sealed class CollectTally
{
    public long Received, MissingSessionId, MissingVisitorId, MissingUrl;
    public Dictionary<string, long> AcceptedBySite { get; } = new(StringComparer.Ordinal);
}
