namespace Tally.Api.Models;

/// <summary>One tenant's metering for a month (GET /v1/usage).</summary>
public sealed record UsageResponse(
    string Tenant,
    string Month,
    long EventsAccepted,
    long EventsDuplicate,
    long EventsRejected,
    Dictionary<string, long> RejectedByCode,
    long ActiveUsers,
    UsageDay[] Days);

/// <summary>One arrival day of a month (tenant time zone).</summary>
public sealed record UsageDay(string Day, long EventsAccepted, long EventsDuplicate, long EventsRejected);

/// <summary>Every tenant's metering for a month (GET /v1/usage with the cluster admin key).</summary>
public sealed record UsageListResponse(string Month, UsageResponse[] Tenants);
