"""POST /feedback: the trainer reports mean reward per arm. Stored in the registry's feedback store, shared by
every replica, once per (run_id, step, arm), so the client may retry it, on the same replica or another."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from shared.contract import Feedback

from retrieval_service.dependencies import StateDep
from retrieval_service.feedback_store import FeedbackUnavailable

router = APIRouter(tags=["feedback"])


@router.post("/feedback", responses={503: {"description": "the feedback store cannot be written; retry"}})
async def feedback(body: Feedback, state: StateDep) -> dict:
    try:
        added = await run_in_threadpool(state.feedback.add, body.rewards, body.counts, body.run_id, body.step)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    except FeedbackUnavailable as exc:
        raise HTTPException(503, f"{exc}; the report was not counted, retry it") from None
    # a repeat of a counted (run_id, step, arm) is a retry: acknowledged, not counted again
    return {"accepted": added, "duplicate": bool(body.rewards) and added == 0,
            "feedback": await run_in_threadpool(state.feedback.summary)}
