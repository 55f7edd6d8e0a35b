using Hive.Shared.Errors;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Hive.Host;

/// <summary>Every HTTP error becomes problem+json through the one mapping table in <see cref="HiveError"/>.</summary>
public sealed class HiveExceptionHandler(IProblemDetailsService problems, ILogger<HiveExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var error = HiveError.From(exception);
        if (error.IsServerFault) logger.LogError(exception, "{Method} {Path} failed", context.Request.Method, context.Request.Path);

        ProblemDetails problem = error.Errors is { } errors
            ? new ValidationProblemDetails(errors) { Detail = error.Message }
            : new ProblemDetails { Detail = error.IsServerFault ? null : error.Message };
        problem.Status = error.Status;
        problem.Title = error.Code switch
        {
            ErrorCodes.Validation => "the request is invalid",
            ErrorCodes.BadRequest => "the request is malformed",
            ErrorCodes.NotFound => "not found",
            ErrorCodes.Forbidden => "refused",
            ErrorCodes.Conflict => "conflict",
            ErrorCodes.TooLarge => "too large",
            _ => "the host failed",
        };
        problem.Extensions["code"] = error.Code;

        context.Response.StatusCode = error.Status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }
}
