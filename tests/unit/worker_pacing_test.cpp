// When a worker claims URLs and records outcomes (lib/worker/pacing.hpp), on a clock the test
// moves.

#include <gtest/gtest.h>

#include "worker/pacing.hpp"

namespace crawl::worker {
namespace {

TEST(Pacing, AClaimIsDueAtOnceWhileHalfABatchOfSlotsIsFreeAndNeverWhenNoneIs) {
  Pacing p(64, 16);
  EXPECT_EQ(p.claim_at(0), 0);
  EXPECT_EQ(p.claim_size(0), 16u);
  EXPECT_EQ(p.claim_size(60), 4u);
  EXPECT_EQ(p.claim_size(64), 0u);
  EXPECT_EQ(p.claim_at(64), -1);
  EXPECT_EQ(p.claim_at(70), -1);  // more held than slots (adopted on a reconnection)
  p.claimed(1000, 16, 16, 0);
  EXPECT_EQ(p.claim_at(48), 0);  // 16 free: a full claim again, at once
}

TEST(Pacing, ClaimsOfFewSlotsAreSpaced50ms) {
  Pacing p(64, 16);
  p.claimed(1000, 16, 16, -1);
  EXPECT_EQ(p.claim_at(57), 1050);  // 7 free, under half a batch
  EXPECT_EQ(p.claim_at(56), 0);     // 8 free: half a batch
}

TEST(Pacing, AShortClaimWaitsForTheNextSiteWithinTenMsAndASecond) {
  Pacing p(64, 16);
  p.claimed(1000, 16, 3, 250);
  EXPECT_EQ(p.claim_at(3), 1250);
  EXPECT_EQ(p.work_at(), 1250);
  p.claimed(2000, 16, 0, 2);
  EXPECT_EQ(p.claim_at(0), 2010);
  p.claimed(3000, 16, 0, 60'000);
  EXPECT_EQ(p.claim_at(0), 4000);
  p.claimed(5000, 16, 0, -1);  // no site scheduled
  EXPECT_EQ(p.claim_at(0), 6000);
  p.claim_soon();  // slots given back, or work announced
  EXPECT_EQ(p.claim_at(0), 0);
}

TEST(Pacing, AFailedClaimIsTriedAgainAfterASecond) {
  Pacing p(64, 16);
  p.claim_failed(1000);
  EXPECT_EQ(p.claim_at(0), 2000);
  EXPECT_EQ(p.claim_at(60), 2000);
}

TEST(Pacing, OutcomesWait50msOr5msAfterAShortClaimUnlessABatchOrAFewMBOrDraining) {
  Pacing p(64, 16);
  EXPECT_EQ(p.flush_at(1, 100, 1000, false), 1050);
  EXPECT_EQ(p.flush_at(16, 100, 1000, false), 0);
  EXPECT_EQ(p.flush_at(1, Pacing::k_outcome_bytes, 1000, false), 0);
  EXPECT_EQ(p.flush_at(1, 100, 1000, true), 0);
  p.claimed(900, 16, 2, 100);
  EXPECT_EQ(p.flush_at(1, 100, 1000, false), 1005);
  p.claimed(950, 16, 16, 100);
  EXPECT_EQ(p.flush_at(1, 100, 1000, false), 1050);
}

TEST(Pacing, AFailedFlushWaitsASecondEvenWhenForcedAndFreesSlotsWhenItWorks) {
  Pacing p(64, 16);
  p.flush_failed(1000);
  EXPECT_EQ(p.flush_at(1, 100, 900, false), 2000);
  EXPECT_EQ(p.flush_at(16, 100, 900, true), 2000);
  p.claimed(1500, 16, 0, -1);
  EXPECT_EQ(p.claim_at(0), 2500);
  p.flushed();
  EXPECT_EQ(p.claim_at(0), 0);
}

TEST(Pacing, AfterAFailedWaitForWorkTheWorkerSleepsASecondInstead) {
  Pacing p(64, 16);
  EXPECT_TRUE(p.may_block(0));
  p.wait_failed(1000);
  EXPECT_FALSE(p.may_block(1999));
  EXPECT_TRUE(p.may_block(2000));
}

}  // namespace
}  // namespace crawl::worker
