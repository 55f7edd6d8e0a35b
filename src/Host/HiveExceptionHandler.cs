using Hive.Shared.Errors;
using Hive.Shared.Health;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Hive.Host;

/// <summary>Every HTTP error becomes problem+json through the one mapping table in <see cref="HiveError"/>.</summary>
public sealed class HiveExceptionHandler(IProblemDetailsService problems, StorageHealth health, ILogger<HiveExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var error = HiveError.From(exception);
        // A storage fault is logged by the health (once, naming the database); anything else unexpected here.
        if (error.IsServerFault && !health.Observe(exception)) logger.LogError(exception, "{Method} {Path} failed", context.Request.Method, context.Request.Path);

        var problem = error.Errors is { } errors
            ? new ValidationProblemDetails(errors) { Detail = error.Message }
            : new ProblemDetails { Detail = error.Code == ErrorCodes.Internal ? null : error.Message };
        problem.Status = error.Status;
        problem.Title = error.Code switch
        {
            ErrorCodes.Validation => "the request is invalid",
            ErrorCodes.BadRequest => "the request is malformed",
            ErrorCodes.NotFound => "not found",
            ErrorCodes.Unauthorized => "not authenticated",
            ErrorCodes.Forbidden => "refused",
            ErrorCodes.MethodNotAllowed => "method not allowed",
            ErrorCodes.Conflict => "conflict",
            ErrorCodes.TooLarge => "too large",
            ErrorCodes.StorageFull => "storage full",
            ErrorCodes.StorageUnavailable => "storage unavailable",
            ErrorCodes.TooMany => "too many",
            ErrorCodes.Busy => "busy: try again later",
            ErrorCodes.Internal => "the host failed",
            // A code added without a title here still says what it is rather than blaming the host.
            _ => error.Code.Replace('_', ' '),
        };
        problem.Extensions["code"] = error.Code;

        context.Response.StatusCode = error.Status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }
}
