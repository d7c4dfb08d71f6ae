namespace Tally.Contracts;

/// <summary>
/// Removes one tenant (API.md, Tenant removal; key: the tenant id) once the API marked it: stops its webhooks and
/// grains, exports and verifies its raw events, then deletes every row, Redis key and, last, the tenant itself. Every
/// step can run again: a run cut short (a silo lost) is taken up by the maintenance runner's next pass.
/// </summary>
public interface ITenantRemovalGrain : IGrainWithStringKey
{
    /// <summary>Runs the removal to its end, or until a step fails (logged; the next pass retries). Returns whether the
    /// tenant is gone.</summary>
    Task<bool> Run();
}
