using System.Text.Json;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;

namespace Hive.Shared.Errors;

/// <summary>An error a caller caused, with the code the socket speaks and the status HTTP speaks.</summary>
public abstract class HiveException(string message, string code, int status) : Exception(message)
{
    public string Code { get; } = code;
    public int Status { get; } = status;

    /// <summary>Details by field, sent as <c>errors</c> (a refused gate's <c>missing</c>, say); null for none.</summary>
    public IDictionary<string, string[]>? Errors { get; init; }
}

public sealed class BadRequestException(string message) : HiveException(message, ErrorCodes.BadRequest, 400);
public sealed class NotFoundException(string message) : HiveException(message, ErrorCodes.NotFound, 404);
/// <summary>A caller that did not prove who it is (a webhook's signature that does not match): 401 / <c>unauthorized</c>.</summary>
public sealed class UnauthorizedException(string message) : HiveException(message, ErrorCodes.Unauthorized, 401);
public sealed class ForbiddenException(string message) : HiveException(message, ErrorCodes.Forbidden, 403);
public sealed class ConflictException(string message) : HiveException(message, ErrorCodes.Conflict, 409);
public sealed class TooLargeException(string message) : HiveException(message, ErrorCodes.TooLarge, 413);
public sealed class BusyException(string message) : HiveException(message, ErrorCodes.Busy, 503);
/// <summary>A per-agent quota is full (pending reminders, open questions): 429 / <c>too_many</c>.</summary>
public sealed class TooManyException(string message) : HiveException(message, ErrorCodes.TooMany, 429);

public static class ErrorCodes
{
    public const string Validation = "validation";
    public const string NotFound = "not_found";
    public const string Forbidden = "forbidden";
    public const string TooLarge = "too_large";
    public const string Conflict = "conflict";
    public const string BadRequest = "bad_request";
    public const string TooMany = "too_many";
    public const string MethodNotAllowed = "method_not_allowed";
    public const string Unauthorized = "unauthorized";
    public const string StorageFull = "storage_full";
    public const string StorageUnavailable = "storage_unavailable";
    public const string Internal = "internal";
    /// <summary>The host is at a connection cap (503 with Retry-After); the same request later succeeds.</summary>
    public const string Busy = "busy";

    public static int StatusOf(string code) => code switch
    {
        Validation or BadRequest => 400,
        Unauthorized => 401,
        Forbidden => 403,
        NotFound => 404,
        MethodNotAllowed => 405,
        Conflict => 409,
        TooLarge => 413,
        StorageUnavailable => 503,
        StorageFull => 507,
        Busy => 503,
        TooMany => 429,
        _ => 500,
    };
}

/// <summary>What a caller is told about a failure: the single mapping table for the socket and HTTP.</summary>
public sealed record HiveError(int Status, string Code, string Message, IDictionary<string, string[]>? Errors = null)
{
    public bool IsServerFault => Status >= 500;

    public static HiveError From(Exception exception) => exception switch
    {
        HiveException e => new(e.Status, e.Code, e.Message, e.Errors),
        ValidationException e => FromValidation(e),
        JsonException e => new(400, ErrorCodes.BadRequest, $"the request is not valid JSON for this call: {Describe(e)}"),
        BadHttpRequestException e => new(e.StatusCode, e.StatusCode == 413 ? ErrorCodes.TooLarge : ErrorCodes.BadRequest, e.Message),
        SqliteException { SqliteErrorCode: 19 } => new(409, ErrorCodes.Conflict, "the change conflicts with existing data"),
        SqliteException e when StorageFault(e) is { } code => new(ErrorCodes.StatusOf(code), code, code == ErrorCodes.StorageFull
            ? "the host's disk is full: nothing was stored; retry once space is freed"
            : "the host's database cannot be written or read: nothing was stored; retry later"),
        _ => new(500, ErrorCodes.Internal, "the host failed to handle the request"),
    };

    /// <summary>
    /// <c>storage_full</c> for SQLITE_FULL (disk full); <c>storage_unavailable</c> for a database that is read-only or
    /// failing (SQLITE_READONLY, SQLITE_IOERR*, SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_NOTADB); null for anything else.
    /// </summary>
    public static string? StorageFault(Exception exception) => exception is SqliteException e
        ? (e.SqliteErrorCode & 0xFF) switch
        {
            13 => ErrorCodes.StorageFull,                       // SQLITE_FULL
            8 or 10 or 11 or 14 or 26 => ErrorCodes.StorageUnavailable, // READONLY, IOERR, CORRUPT, CANTOPEN, NOTADB
            _ => null,
        }
        : null;

    private static HiveError FromValidation(ValidationException e)
    {
        var failures = e.Errors.ToList();
        // A rule may name the kind of failure (an unknown recipient is not_found, an oversized body too_large);
        // the first failure decides, so one request gets one code.
        var code = failures.Select(f => f.ErrorCode).FirstOrDefault(c => ErrorCodes.StatusOf(c) is not 500 and not 400) ?? ErrorCodes.Validation;
        var errors = failures
            .GroupBy(f => JsonNamingPolicy.SnakeCaseLower.ConvertName(f.PropertyName))
            .ToDictionary(g => g.Key, g => g.Select(f => f.ErrorMessage).Distinct().ToArray());
        var message = string.Join("; ", failures.Select(f => f.ErrorMessage).Distinct());
        return new(ErrorCodes.StatusOf(code), code, message, errors);
    }

    // JsonException messages can echo a path and a position; that is useful and holds no secrets.
    private static string Describe(JsonException e) => e.Path is { Length: > 0 } path ? $"bad value at {path}" : "malformed JSON";
}
