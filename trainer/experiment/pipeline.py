"""The study, stage by stage: every step is a real `rarft` command in a subprocess, the service a live child.

    data + init-policy -> build v0 -> serve (subprocess) -> label + distill -> v1, hot-deployed
    -> train the preset's arms (GRPO / semantic RAG-RFT (v0) / RA-RFT (v1)) on the RL rows per seed
    -> eval the warm start and each arm under the conditions the pre-registered comparisons need
    -> retriever analysis (when the preset asks for it) -> report

Layout of the run dir: data/ policy/ registry/{v0,v1}/ rounds/v1-r<r>/ labels/ runs/<arm>-s<seed>/
eval/<arm>-s<seed>-<cond>/ analysis/<version>/ logs/ stages/ report.md results.json figures/. With `vary_warm_start`
every seed has its own policy-s<seed>/, labels-s<seed>.jsonl, rounds/v1-s<seed>-r<r>/ and registry/v1-s<seed>/, and
the warm start is evaluated per seed.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.artifacts import checksum_tree, sha256_file
from shared.errors import UserError
from trainer.data.benchmark import GENERATOR
from trainer.experiment.plan import (ARMS, BASE, BASE_CONDITIONS, TRAIN_PIN_FLAG, V0, V1, base_eval_name, cond_name,
                                     eval_seed, planned_stages, round_suffix, warm_start_suffixes)
from trainer.experiment.presets import Preset, check_command_args, to_flags
from trainer.experiment.run_files import find_model_dir, read_per_problem, read_train_log
from trainer.experiment.schema import Results
from trainer.experiment.service import ServiceProcess
from trainer.experiment.stages import Launch, StageRunner, run_rarft


@dataclass
class WarmStart:
    """A warm-started policy and the v1 distilled from its labels: one shared by every seed, or one per seed."""

    policy: Path
    v1: str  # its registry name
    upstream: dict[str, Any]  # checksums the stages downstream of it are fingerprinted with
    policy_out: dict[str, Any]
    deployed: dict[str, Any]

    def version(self, name: str | None) -> str | None:
        """A condition's registry version: v1 is this warm start's own."""
        return self.v1 if name == V1 else name

    def upstream_for(self, name: str | None) -> dict[str, Any]:
        """The checksums a stage that retrieves from `name` (None: no retrieval) depends on: the policy's and that
        version's. So distilling v1 again reruns only what retrieves from v1, not GRPO or the semantic arm."""
        return {"policy": self.upstream["policy"], **({name: self.upstream[name]} if name is not None else {})}


def _tree_unchanged(key: str, path: Path):
    def verify(outputs: dict[str, Any]) -> bool:
        return path.exists() and outputs.get(key) == (checksum_tree(path) if path.is_dir() else sha256_file(path))
    return verify


LAUNCHED = ("train", "label", "eval")  # the stage commands that run under `accelerate launch` when one is given


class Pipeline:
    def __init__(self, preset: Preset, out: Path, log=print, launch: Launch | None = None):
        self.preset = preset
        self.launch = launch
        self.out = Path(out)
        self.log = log
        self.data = self.out / "data"
        self.registry = self.out / "registry"
        self.rounds = self.out / "rounds"  # distillation rounds before the last: retrievers no service loads
        self.labels = self.out / "labels" / "labels.jsonl"
        self.logs = self.out / "logs"
        self.runner = StageRunner(self.out, planned_stages(preset), log)
        self.service: ServiceProcess | None = None
        self.results: Results | None = None

    # ------------------------------------------------------------------------------------------- helpers
    def rarft(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        run_rarft(args, self.logs / f"{name}.log", env=env, launch=self.launch if args[0] in LAUNCHED else None)

    def _artifact_stage(self, name: str, path: Path, args: list[str], inputs: Any, overwrite_flag: str = "--overwrite",
                        resume_partial: bool = False) -> dict[str, Any]:
        """A stage that writes one artifact. An artifact left from other inputs is replaced (the command's own
        overwrite flag); with resume_partial, an artifact without any marker is left for the command to resume."""
        def fn() -> dict[str, Any]:
            stale = self.runner.read_marker(name) is not None or not resume_partial
            self.rarft(name, args + ([overwrite_flag] if path.exists() and stale else []))
            return {"path": str(path), "checksum": checksum_tree(path) if path.is_dir() else sha256_file(path)}
        return self.runner.run(name, fn, inputs=inputs, verify=_tree_unchanged("checksum", path))

    # -------------------------------------------------------------------------------------------- stages
    def run(self) -> Results:
        """All stages. SIGTERM becomes KeyboardInterrupt for the whole run, so every child (the running stage's
        command and the service, each in its own process group) is stopped by the same cleanup as Ctrl-C."""
        import signal

        from trainer.experiment.service import _raise_interrupt

        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            return self._run()
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _run(self) -> Results:
        p = self.preset
        check_command_args(p)
        t0 = time.time()
        self.out.mkdir(parents=True, exist_ok=True)
        data_out = self._artifact_stage("data", self.data, ["data", "--out", str(self.data), *to_flags(p.data_args)],
                                        inputs={**p.data_args, "generator": GENERATOR})
        suffixes = warm_start_suffixes(p)
        policies = {x: self._policy(x, data_out) for x in dict.fromkeys(suffixes.values())}
        v0_out = self._artifact_stage(
            "retriever-v0", self.registry / V0,
            ["build-retriever", "--bank", str(self.data / "bank.jsonl"), "--out", str(self.registry / V0), *to_flags(p.build_args)],
            inputs={"args": p.build_args, "data": data_out["checksum"]})
        try:
            self.runner.run("service", self._start_service, resumable=False)
            warm = {x: self._distil_v1(x, policy, policy_out, v0_out) for x, (policy, policy_out) in policies.items()}
            units = {seed: warm[x] for seed, x in suffixes.items()}
            train = {seed: {arm: self._train(arm, seed, units[seed]) for arm in p.arms} for seed in p.seeds}
            evals = self._evaluate_all(train, units)
        finally:
            if self.service is not None:
                self.service.stop()
                self.log("service stopped")
        first = units[p.seeds[0]]
        others = [w for w in warm.values() if w is not first]
        analysis = self._analyse(first, others) if p.retriever_analysis else {}
        self.results = self._collect([first, *others], train, evals, analysis, t0)

        results = self.results

        def write_report() -> dict[str, Any]:
            from trainer.experiment.report import write_report_dir
            return write_report_dir(self.out, results)

        self.runner.run("report", write_report, resumable=False)
        return results

    def _start_service(self) -> dict[str, Any]:
        self.service = ServiceProcess(self.registry, self.logs / "service.log").start()
        return {"url": self.service.url, "pid": self.service.proc.pid if self.service.proc else None}

    def _versions(self) -> dict[str, Any]:
        from trainer.client import RetrievalClient

        with RetrievalClient(self.service.url, timeout_s=10.0) as client:
            return client.versions().model_dump(mode="json")

    def _report_flags(self) -> list[str]:
        """The preset's loggers for every training stage; outside the fingerprints (they change no result)."""
        return to_flags({"report_to": self.preset.report_to})

    def _policy(self, suffix: str, data_out: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        """The warm start of one unit: the shared one (suffix '') or seed s's own (init-policy --seed s)."""
        p = self.preset
        policy = self.out / f"policy{suffix}"
        args = p.policy_args if not suffix else {**p.policy_args, "seed": int(suffix.removeprefix("-s"))}
        out = self._artifact_stage(f"policy{suffix}", policy,
                                   ["init-policy", "--data", str(self.data), "--out", str(policy), *to_flags(args),
                                    *self._report_flags()],
                                   inputs={"args": args, "data": data_out["checksum"]})
        return policy, out

    def _distil_v1(self, suffix: str, policy: Path, policy_out: dict[str, Any], v0_out: dict[str, Any]) -> WarmStart:
        """Label with this warm start, distil its v1 (in `distill_rounds` rounds) and hot-deploy it.

        Round r > 1 labels the same queries (same label args, so the same seeded subset) with pools drawn from round
        r-1's retriever instead of v0, and distils on from that retriever: its own top hits are the look-alikes it still
        confuses, which v0's pools seldom hold. Only the last round is v1 in the registry; earlier rounds are
        `rounds/v1-r<r>`, outside it, so no service (a restarted one included) ever loads them."""
        p = self.preset
        v1 = f"{V1}{suffix}"
        distill_args = p.distill_args if not suffix else {**p.distill_args, "seed": int(suffix.removeprefix("-s"))}
        if "split" in p.label_args:  # distil from the split that was labelled
            distill_args = {**distill_args, "split": p.label_args["split"]}
        source, source_out = self.registry / V0, v0_out
        for r in range(1, p.distill_rounds + 1):
            x = round_suffix(suffix, r)
            labels = self.labels.with_name(f"labels{x}.jsonl")
            last = r == p.distill_rounds
            name = v1 if last else f"{v1}-r{r}"
            target = (self.registry if last else self.rounds) / name
            # round 1's fingerprints are those of a one-round run, so its runs resume either way
            pool = {} if r == 1 else {"pool": source_out["checksum"]}
            label_out = self._artifact_stage(
                f"label{x}", labels, ["label", "--policy", str(policy), "--data", str(self.data), "--retriever",
                                      str(source), "--out", str(labels), *to_flags(p.label_args)],
                inputs={"args": p.label_args, "policy": policy_out["checksum"], "v0": v0_out["checksum"], **pool},
                resume_partial=True)
            source_out = self._artifact_stage(
                f"distill{x}", target, ["distill", "--labels", str(labels), "--data", str(self.data), "--parent",
                                        str(source), "--out", str(target), *to_flags(distill_args),
                                        *self._report_flags()],
                inputs={"args": distill_args, "labels": label_out["checksum"], **({} if last else {"out": name}), **pool})
            source = target
        v1_out = source_out
        # Resumable: a rerun's fresh service already serves v1 (the registry's deployment), so the first hot deploy stands.
        deployed = self.runner.run(f"deploy{suffix}", lambda: self._deploy(v1), inputs={"v1": v1_out["checksum"]},
                                   verify=lambda o: v1 in [v["name"] for v in self._versions().get("versions", [])])
        upstream = {"policy": policy_out["checksum"], "v0": v0_out["checksum"], "v1": v1_out["checksum"]}
        return WarmStart(policy, v1, upstream, policy_out, deployed)

    def _deploy(self, v1: str) -> dict[str, Any]:
        """Hot-load v1 into the running service (no restart). A rerun whose service loaded this v1 at start skips the
        load; one whose service loaded an older v1 (distilled again since) unloads it and loads the new one."""
        from shared.versions import read_manifest

        assert self.service is not None
        served = {v["name"]: v for v in self._versions().get("versions", [])}
        before = list(served)
        built = read_manifest(self.registry / v1).created_at
        stale = v1 in served and served[v1].get("manifest", {}).get("created_at") != built
        loaded_by = "already loaded when the service started (the registry's deployment, on a rerun)"
        admin = {"RARFT_ADMIN_TOKEN": self.service.admin_token}
        if stale:  # the service keeps the version it loaded: unload the old v1 (v0 takes its traffic meanwhile)
            for action in (["promote", V0], ["unload", v1], ["load", v1], ["promote", v1]):
                self.rarft(f"deploy{v1.removeprefix(V1)}-{action[0]}", ["deploy", "--url", self.service.url, *action],
                           env=admin)
            loaded_by = "rarft deploy load (hot, no restart), after unloading the older v1"
        elif v1 not in served:
            self.rarft(f"deploy{v1.removeprefix(V1)}", ["deploy", "--url", self.service.url, "load", v1], env=admin)
            loaded_by = "rarft deploy load (hot, no restart)"
        after = self._versions()
        names = [v["name"] for v in after.get("versions", [])]
        if v1 not in names or V0 not in names:
            raise UserError(f"service should serve {V0} and {v1} after deploy; it serves {names}")
        return {"loaded_by": loaded_by, "versions_before": before, "versions": after}

    def _train(self, arm: str, seed: int, warm: WarmStart) -> dict[str, Any]:
        p = self.preset
        version, upstream = warm.version(ARMS[arm][0]), warm.upstream_for(ARMS[arm][0])
        run_dir = self.out / "runs" / f"{arm}-s{seed}"
        train_args = dict(p.train_args)
        # A checkpoint at the last step keeps TRL's trainer_state.json (log_history: the reward curves).
        train_args.setdefault("save_steps", train_args.get("max_steps", 50))
        args = ["train", "--model", str(warm.policy), "--train", str(self.data / "rl.jsonl"), "--output-dir", str(run_dir),
                "--seed", str(seed), *to_flags(train_args), *self._report_flags()]
        if version is not None:
            args += ["--retrieval-url", self.service.url, *to_flags({TRAIN_PIN_FLAG: version, "retrieval_k": p.retrieval_k,
                                                                    "demo_budget_tokens": p.demo_budget_tokens}),
                     *to_flags(p.retrieval_args)]
        # What decides the result, not where it runs: the service URL's port changes between runs.
        inputs = {"seed": seed, "train_args": train_args, "upstream": upstream,
                  "retrieval": {"pin": version, "retrieval_k": p.retrieval_k, "demo_budget_tokens": p.demo_budget_tokens,
                                **p.retrieval_args} if version is not None else None}
        if self.launch is not None:  # the process count changes the global batch (label and eval give the same output)
            inputs["launch"] = self.launch.fingerprint()

        def fn() -> dict[str, Any]:
            if run_dir.exists():  # left by an interrupted or outdated run: its checkpoints must not mix with this one's
                shutil.rmtree(run_dir)
            self.rarft(f"train-{arm}-s{seed}", args)
            model = find_model_dir(run_dir)
            return {"run_dir": str(run_dir), "model": str(model), "checksum": checksum_tree(model), **read_train_log(run_dir)}

        def verify(outputs: dict[str, Any]) -> bool:
            model = Path(outputs["model"])
            return model.is_dir() and checksum_tree(model) == outputs["checksum"]

        return self.runner.run(f"train-{arm}-s{seed}", fn, inputs=inputs, verify=verify)

    def _eval(self, name: str, model: str, version: str | None, seed: int, inputs: Any) -> dict[str, Any]:
        out = self.out / "eval" / name.removeprefix("eval-")
        args = ["eval", "--model", model, "--data", str(self.data / f"{self.preset.eval_split}.jsonl"), "--out", str(out),
                "--seed", str(seed),
                *to_flags(self.preset.eval_args)]
        if version is not None:
            args += ["--retrieval-url", self.service.url, "--retriever-version", version, "--retrieval-k", str(self.preset.retrieval_k),
                     "--demo-budget-tokens", str(self.preset.demo_budget_tokens)]

        def fn() -> dict[str, Any]:
            if self.launch is not None:
                self.rarft(name, args)  # its own processes under accelerate launch
            else:
                self._eval_in_process(name, args)
            res = json.loads((out / "results.json").read_text())
            return {"out": str(out), "metrics": res["metrics"], "per_strategy": res["per_strategy"],
                    "per_wording": res.get("per_wording", {}), "per_problem": read_per_problem(out / "per_problem.csv"),
                    "retrieval": res.get("retrieval"), "wall_time_s": res.get("wall_time_s")}

        return self.runner.run(name, fn, inputs={"eval": self.preset.eval_args, "split": self.preset.eval_split,
                                                 "version": version, "seed": seed,
                                                 "retrieval": [self.preset.retrieval_k, self.preset.demo_budget_tokens], **inputs},
                               verify=lambda o: (Path(o["out"]) / "results.json").is_file())

    def _eval_in_process(self, name: str, args: list[str]) -> None:
        """`rarft eval` with these exact flags, in this process: torch and transformers are imported once for all
        evaluations instead of once per subprocess (seconds each on a busy 2-core box). Output goes to the stage log."""
        import contextlib
        import logging

        from trainer.evaluation.cli import main as eval_main

        log_file = self.logs / f"{name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        httpx_logger = logging.getLogger("httpx")
        level = httpx_logger.level
        with open(log_file, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            fh.write("$ rarft " + " ".join(args) + "  (in-process)\n")
            httpx_logger.setLevel(logging.WARNING)
            try:
                eval_main(args[1:])
            finally:
                httpx_logger.setLevel(level)

    def _evaluate_all(self, train: dict[int, dict[str, Any]], units: dict[int, WarmStart]) -> dict[str, Any]:
        """The warm start once (the first seed's evaluation seed; per seed when each seed has its own), every arm
        once per seed, each with an evaluation seed that is never its training seed."""
        p = self.preset
        evals: dict[str, Any] = {BASE: {}}
        for seed in (p.seeds if p.vary_warm_start else p.seeds[:1]):
            warm = units[seed]
            evals[BASE][str(seed)] = {
                cond_name(c): self._eval(f"eval-{base_eval_name(p, seed)}-{cond_name(c)}", str(warm.policy), warm.version(c),
                                         eval_seed(seed), warm.upstream_for(c))
                for c in BASE_CONDITIONS}
        for arm in p.arms:
            evals[arm] = {}
            for seed in p.seeds:
                t, warm = train[seed][arm], units[seed]
                evals[arm][str(seed)] = {
                    cond_name(c): self._eval(f"eval-{arm}-s{seed}-{cond_name(c)}", t["model"], warm.version(c), eval_seed(seed),
                                             {"model": t["checksum"], **warm.upstream_for(c)})
                    for c in ARMS[arm][1]}
        return evals

    def _analyse(self, warm: WarmStart, others: list[WarmStart]) -> dict[str, Any]:
        """`rarft eval-retriever` on the held-out test queries: v1 beside v0, with the policy measuring top-k benefit,
        and, when the preset asks for it, nDCG@k against gold benefit labels of test queries labelled here (the
        distillation labels cover train queries only).

        With a warm start per seed, the other seeds' v1 stand beside the first's, since each seed's arms retrieved
        from its own v1; their benefit@k and nDCG@k are measured with the first seed's policy and labels."""
        p = self.preset
        out = self.out / "analysis"
        test_labels = self.out / "analysis-labels" / "test-labels.jsonl"
        # The policy's benefit@k of each version's top-k is measured with the test labels (the full preset); the quick
        # one reports the retrievers' strategy-match only, which needs no policy forward passes.
        upstream = {**warm.upstream, **{w.v1: w.upstream["v1"] for w in others}}
        policy = ["--policy", str(warm.policy)] if p.test_label_queries else []
        compare = [str(self.registry / name) for name in (*(w.v1 for w in others), V0)]
        args = ["eval-retriever", "--retriever", str(self.registry / warm.v1), "--compare", *compare,
                "--data", str(self.data), "--split", p.eval_split, *policy, "--out", str(out), "--overwrite",
                *to_flags(p.retriever_eval_args)]
        label_args = {k: v for k, v in p.label_args.items() if k not in ("num_queries", "split")}
        label = ["label", "--policy", str(warm.policy), "--data", str(self.data), "--retriever", str(self.registry / V0),
                 "--split", p.eval_split, "--num-queries", str(p.test_label_queries), "--out", str(test_labels),
                 *to_flags(label_args)]

        def fn() -> dict[str, Any]:
            if p.test_label_queries:
                if test_labels.exists():  # from other inputs: a fresh file, not a resumed one
                    test_labels.unlink()
                test_labels.parent.mkdir(parents=True, exist_ok=True)
                self.rarft("analysis-labels", label)
            self.rarft("analysis", args + (["--labels", str(test_labels)] if p.test_label_queries else []))
            return {"out": str(out), **json.loads((out / "results.json").read_text())}

        return self.runner.run("analysis", fn, inputs={"args": p.retriever_eval_args, "test_labels": p.test_label_queries,
                                                       "split": p.eval_split,
                                                       "label_args": label_args, **upstream},
                               verify=lambda o: (Path(o["out"]) / "results.json").is_file())

    def _collect(self, warms: list[WarmStart], train, evals, analysis, t0) -> Results:
        from trainer.experiment.results import build_results

        return build_results(
            preset=self.preset, out=self.out, data_dir=self.data, policy_dirs=[w.policy for w in warms],
            registry=self.registry, deployments={w.v1: w.deployed for w in warms}, train=train,
            evals=evals, analysis=analysis,
            timings=self.runner.timings, started_at=t0)
